#!/usr/bin/env bash
# Runs the whole system on its embedded defaults: installs what is missing,
# starts Redis and the local MongoDB server unless REDIS_URL / MONGODB_URI are
# given, starts the payment simulator unless a Stripe key is given, seeds the
# catalogue, then runs the web app (http://localhost:${PORT:-4000}) and the
# worker (WORKERS=N for N of them) under scripts/supervisor.ts, which restarts
# any of them that exits. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -f .env ]]; then set -a; source .env; set +a; fi

bash scripts/ensure-deps.sh
bash scripts/services/services.sh up dev
eval "$(bash scripts/services/services.sh env dev)"
export APP_ENV="${APP_ENV:-development}" PORT="${PORT:-4000}"

# Ctrl-C before the processes run (installing, seeding, building) just ends the script.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
sup=""
cleanup() {
  trap - INT TERM HUP EXIT
  echo "[dev] stopping..." >&2
  # The supervisor leads its own process group, children included: anything left in
  # it (the supervisor was killed, or a child outlived it) is stopped here.
  if [[ -n $sup ]] && kill -0 -- "-$sup" 2>/dev/null; then
    echo "[dev] stopping what the supervisor left running" >&2
    kill -TERM -- "-$sup" 2>/dev/null || true
    for _ in {1..100}; do kill -0 -- "-$sup" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$sup" 2>/dev/null || true
  fi
  bash scripts/services/services.sh down dev || true
  echo "[dev] stopped" >&2
}
trap cleanup EXIT

# Stripe's webhooks go to a web process of their own (WEBHOOK_PORT, 4090), so a
# storefront under load never makes a delivery wait.
children=(web webhooks "worker=${WORKERS:-1}")
if [[ -z "${STRIPE_SECRET_KEY:-}" ]]; then
  # No Stripe key: the local payment simulator plays Stripe (never in production).
  export STRIPE_SECRET_KEY=sk_test_local_simulator
  export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_local_simulator}"
  export STRIPE_API_HOST=127.0.0.1 STRIPE_API_PORT="${SIM_PORT:-12200}" STRIPE_API_PROTOCOL=http
  children=(simulator "${children[@]}")
  echo "[dev] payment simulator on http://127.0.0.1:$STRIPE_API_PORT (pay on the order page with its test cards)" >&2
fi

npm run --silent seed
bash scripts/ensure-build.sh

# The supervisor restarts whichever process exits, and stops them all on request.
# setsid gives it its own session, so the terminal's Ctrl-C reaches only this
# script, which forwards it as SIGTERM (the supervisor takes the two copies npm
# and the terminal deliver for one Ctrl-C as one); a second Ctrl-C forces.
setsid node --import tsx scripts/supervisor.ts "${children[@]}" &
sup=$!
trap 'kill -TERM "$sup" 2>/dev/null || true' INT TERM HUP
echo "[dev] storefront on http://localhost:$PORT, Stripe webhooks on http://localhost:${WEBHOOK_PORT:-4090}/api/webhooks/stripe — Ctrl-C stops everything" >&2
# `wait` returns early whenever a trapped signal arrives; keep waiting until the
# supervisor has stopped its processes.
while kill -0 "$sup" 2>/dev/null; do wait "$sup" || true; done
