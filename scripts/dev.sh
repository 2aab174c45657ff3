#!/usr/bin/env bash
# Runs the whole system on its embedded defaults: installs what is missing,
# starts Redis and the local MongoDB server unless REDIS_URL / MONGODB_URI are
# given, starts the payment simulator unless a Stripe key is given, seeds the
# catalogue, then runs the web app (http://localhost:${PORT:-4000}) and the
# worker. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -f .env ]]; then set -a; source .env; set +a; fi

bash scripts/ensure-deps.sh
bash scripts/services/services.sh up dev
eval "$(bash scripts/services/services.sh env dev)"
export APP_ENV="${APP_ENV:-development}" PORT="${PORT:-4000}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "[dev] stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash scripts/services/services.sh down dev || true
  echo "[dev] stopped" >&2
}
trap cleanup INT TERM EXIT

if [[ -z "${STRIPE_SECRET_KEY:-}" ]]; then
  # No Stripe key: the local payment simulator plays Stripe (never in production).
  export STRIPE_SECRET_KEY=sk_test_local_simulator
  export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_local_simulator}"
  export STRIPE_API_HOST=127.0.0.1 STRIPE_API_PORT="${SIM_PORT:-12200}" STRIPE_API_PROTOCOL=http
  SIM_PORT="$STRIPE_API_PORT" SIM_WEBHOOK_URL="http://127.0.0.1:$PORT/api/webhooks/stripe" SERVICE_NAME=simulator \
    node --import tsx src/payment-simulator/main.ts &
  pids+=($!)
  echo "[dev] payment simulator on http://127.0.0.1:$STRIPE_API_PORT (pay: POST /_sim/payment_intents/<id>/pay)" >&2
fi

npm run --silent seed
bash scripts/ensure-build.sh

SERVICE_NAME=app node node_modules/next/dist/bin/next start -p "$PORT" &
pids+=($!)
SERVICE_NAME=worker node --import tsx worker/index.ts &
pids+=($!)
echo "[dev] storefront on http://localhost:$PORT — Ctrl-C stops everything" >&2
wait -n "${pids[@]}" || true
