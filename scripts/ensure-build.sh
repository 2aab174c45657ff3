#!/usr/bin/env bash
# Builds the Next app when the sources changed since the last build (or there is none).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=".next/.source-hash"
hash=$(find src prisma-free-models next.config.js package-lock.json tsconfig.json -type f -not -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)
if [[ -f .next/BUILD_ID && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  echo "[build] up to date" >&2
  exit 0
fi
echo "[build] next build" >&2
npx next build >&2
echo "$hash" > "$stamp"
