/**
 * Readiness: whether this process can do its work now, i.e. whether the
 * services it depends on answer. Liveness (the process answers at all) needs
 * no check and lives in the endpoints themselves.
 *
 * The answer names each dependency as "ok" or "down" and nothing more: the
 * web app's endpoint is public, and connection errors name hosts and ports.
 * The reason goes to the log, once when a dependency goes down and once when
 * it comes back, not on every poll of a healthcheck.
 */
import { logger } from '../logger';
import { within } from '../timeout';

/** A check resolves when its dependency answers and throws when it does not. */
export type DependencyChecks = Record<string, () => Promise<unknown>>;

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | 'down'>;
  /** The dependencies that are down, for a quick look (and `jq .failed`). */
  failed: string[];
}

/** Long enough for a healthy round trip on a loaded machine, short enough for a healthcheck's timeout. */
export const CHECK_TIMEOUT_MS = 2_000;

const lastState = new Map<string, 'ok' | 'down'>();

export async function checkReadiness(checks: DependencyChecks, timeoutMs = CHECK_TIMEOUT_MS): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, 'ok' | 'down']> => {
      try {
        await within(timeoutMs, name, Promise.resolve().then(check));
        if (lastState.get(name) === 'down') logger.info({ dependency: name }, 'dependency answers again');
        lastState.set(name, 'ok');
        return [name, 'ok'];
      } catch (err) {
        if (lastState.get(name) !== 'down') logger.warn({ dependency: name, err }, 'dependency down: not ready');
        lastState.set(name, 'down');
        return [name, 'down'];
      }
    }),
  );
  const failed = entries.filter(([, state]) => state === 'down').map(([name]) => name);
  return { ready: failed.length === 0, checks: Object.fromEntries(entries), failed };
}
