#!/usr/bin/env bash
# Builds the production artifacts when their sources changed since the last
# build (or there is none), as `npm run build` does:
#   web   `next build` into .next, completed by scripts/build/assemble-standalone.sh
#         into .next/standalone (what the web image runs: `node web-cluster.cjs`, which runs server.js)
#   dist  the worker, simulator, seed and auditor compiled to JavaScript
#         (scripts/build/build-dist.ts; the worker image runs dist/worker/index.js)
set -euo pipefail
cd "$(dirname "$0")/.."

source_hash() {
  find "$@" -type f -not -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
}

web_stamp=".next/.source-hash"
web_hash=$(source_hash src prisma-free-models next.config.js package-lock.json tsconfig.json scripts/build/assemble-standalone.sh scripts/web-cluster.cjs scripts/web-process.cjs scripts/env-number.cjs)
if [[ -f .next/BUILD_ID && -f .next/standalone/server.js && -f "$web_stamp" && "$(cat "$web_stamp")" == "$web_hash" ]]; then
  echo "[build] web: up to date" >&2
else
  echo "[build] web: next build" >&2
  npx next build >&2
  bash scripts/build/assemble-standalone.sh
  echo "$web_hash" > "$web_stamp"
fi

dist_stamp="dist/.source-hash"
dist_hash=$(source_hash worker src prisma-free-models scripts/seed.ts scripts/invariants.ts scripts/build/build-dist.ts package.json package-lock.json tsconfig.json)
if [[ -f dist/worker/index.js && -f "$dist_stamp" && "$(cat "$dist_stamp")" == "$dist_hash" ]]; then
  echo "[build] dist: up to date" >&2
else
  node --import tsx scripts/build/build-dist.ts
  echo "$dist_hash" > "$dist_stamp"
fi
