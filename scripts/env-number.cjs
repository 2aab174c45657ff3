'use strict';
/**
 * A whole-number setting of web-cluster.cjs or web-process.cjs, read from
 * the environment: unset or empty gives the default; anything outside
 * [min, max] stops the process with a message naming the setting. Plain
 * CommonJS beside them in .next/standalone (scripts/build/assemble-standalone.sh).
 */
function wholeNumberFromEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}\n`);
    process.exit(1);
  }
  return n;
}

module.exports = { wholeNumberFromEnv };
