#!/usr/bin/env bash
# The scheduler's long mode: every scenario of tests/scheduler through
# SCHED_SCHEDULES (default 20,000) controlled schedules, from a fresh random
# base seed (printed; SCHED_BASE_SEED=n repeats a run). A progress line per
# scenario every few seconds; a failing schedule prints its id and the
# command that replays it. Needs only Redis and the MongoDB server (started
# here on the test ports, like npm test).
#   SCHED_ONLY=text   only scenarios whose name contains text
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/services/services.sh up test redis mongo
eval "$(bash scripts/services/services.sh env test)"
run_id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
export MONGODB_URI="${MONGODB_URI%/*}/orders_explore_${run_id}"
export SCHED_SCHEDULES="${SCHED_SCHEDULES:-20000}"
export SCHED_BASE_SEED="${SCHED_BASE_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "[explore] ${SCHED_SCHEDULES} schedules per scenario, base seed ${SCHED_BASE_SEED} (repeat with SCHED_BASE_SEED=${SCHED_BASE_SEED})" >&2
exec npx vitest run --config tests/scheduler/vitest.explore.config.ts "$@"
