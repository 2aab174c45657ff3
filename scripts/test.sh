#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what is missing,
# starts Redis, the MongoDB server and stripe-mock (test ports), builds the
# app, runs every test against the real services, and ends with the line
# "N passed, N failed". Extra arguments go to vitest (e.g. a file filter).
#
# MONGODB_URI / REDIS_URL point the suite at other servers (a real MongoDB too).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
bash scripts/services/services.sh up test
bash scripts/services/services.sh install-browser   # Debian's chromium, for e2e/
eval "$(bash scripts/services/services.sh env test)"
bash scripts/ensure-build.sh

mkdir -p .run/test
results=.run/test/results.json
rm -f "$results"
set +e
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
status=$?
set -e

node -e '
  const fs = require("fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("0 passed, 1 failed"); process.exit(0); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  // A file that failed outside its tests (load error, failing hook) counts once, so it is never silent.
  const brokenFiles = r.testResults.filter(
    (t) => t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed"),
  ).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed`);
' "$results"
exit $status
