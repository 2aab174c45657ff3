#!/usr/bin/env bash
# MongoDB's entry point for docker-compose.yml: a replica set with users needs a
# key file (members authenticate to each other with it, and mongod refuses
# --replSet with --auth without one). It is made once, at random, in the config
# volume, readable by mongod only; then the image's own entry point takes over
# (first start: root user and docker/mongo/initdb/; every start: mongod).
set -euo pipefail
key=/data/configdb/replica-set.key
if [[ ! -s $key ]]; then
  head -c 512 /dev/urandom | base64 -w 0 >"$key"
fi
chown mongodb:mongodb "$key"
chmod 400 "$key"
exec docker-entrypoint.sh "$@"
