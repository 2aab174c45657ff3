/**
 * How long the supervisor waits before restarting a process that exited.
 *
 * Exponential in the number of quick exits in a row (1 s, 2 s, 4 s ... up to
 * `maxMs`), so a process that crashes at start-up is retried forever but never
 * in a hot loop. A process that stayed up for `resetAfterMs` counts as healthy
 * again: its next crash waits `initialMs` once more.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 30_000 };

export function checkBackoff(policy: BackoffPolicy): BackoffPolicy {
  // A zero delay would be the hot loop this policy exists to prevent.
  if (!(policy.initialMs >= 10 && policy.maxMs >= policy.initialMs && policy.resetAfterMs > 0)) {
    throw new Error(`backoff needs initialMs >= 10, maxMs >= initialMs and resetAfterMs > 0, got ${JSON.stringify(policy)}`);
  }
  return policy;
}

/**
 * The quick exits in a row after an exit that followed `uptimeMs` of running,
 * and the delay before the next start.
 */
export function nextRestart(policy: BackoffPolicy, quickExitsBefore: number, uptimeMs: number): { quickExits: number; delayMs: number } {
  const quickExits = (uptimeMs >= policy.resetAfterMs ? 0 : quickExitsBefore) + 1;
  // Capping the exponent keeps 2 ** n finite however long a process keeps failing.
  const delayMs = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(quickExits - 1, 30));
  return { quickExits, delayMs };
}

/** "250ms", "1s", "1.5s", "30s": short enough for a log line. */
export function formatDelay(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  return `${Number((ms / 1_000).toFixed(1))}s`;
}
