#!/usr/bin/env bash
# Builds the typed client other TypeScript apps import as `resilient-orders/client`
# (package.json "exports"): dist/client/index.js, the client itself as CommonJS
# (its one runtime dependency is @trpc/client), and dist/client/index.d.ts with
# the declarations of the API it types (AppRouter and everything it names).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist/client
npx tsc -p tsconfig.client.json
npx esbuild src/trpc/client.ts --bundle --packages=external --format=cjs --platform=node --target=node20 --outfile=dist/client/index.js --log-level=warning
echo "export * from './types/src/trpc/client';" > dist/client/index.d.ts
echo "[build:client] dist/client ready" >&2
