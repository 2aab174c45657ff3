#!/usr/bin/env bash
# Completes Next's standalone output (.next/standalone, from `output: 'standalone'`)
# into a folder that serves the whole app by itself with `node server.js`. Next
# leaves the static assets (.next/static) and public/ out of it, for a CDN; we
# serve them from the same server, so they are copied in. The web image copies
# .next/standalone as this leaves it, and the production-artifact test runs it
# from a copy, so what is tested is what ships.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -f .next/standalone/server.js ]]; then
  echo "[build] .next/standalone/server.js is missing: next.config.js must set output: 'standalone'" >&2
  exit 1
fi
rm -rf .next/standalone/.next/static .next/standalone/public
cp -R .next/static .next/standalone/.next/static
if [[ -d public ]]; then cp -R public .next/standalone/public; fi
# The cluster primary (what the web image and start:all run) and the one web process it runs
# several times: server.js with the hot API paths answered in front of Next's router.
cp scripts/web-cluster.cjs scripts/web-process.cjs scripts/env-number.cjs .next/standalone/
