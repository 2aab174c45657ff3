/**
 * Failure drills during a run, each at a time into the run (`ACTION@Ns`):
 *   kill-worker     SIGKILL to the process listening on the worker's HTTP port
 *   kill-web        SIGKILL to the process listening on the app's port
 *                   (for both, the supervisor, `npm run start:all`, restarts it)
 *   restart-redis   Redis stopped cleanly (SHUTDOWN), down for a while, started again
 *   flush-redis     FLUSHALL: every queued job (and every other key) lost at once
 *   restart-mongo   the MongoDB server stopped cleanly (SIGTERM), down, started again
 * `restart-…@Ns+Ds` keeps the server down D seconds (default 3), and at least
 * until the web app's readiness said 503. A dependency drill then waits until
 * the web app (and the worker) are ready again. The run must still end exact
 * and auditor-clean: that, with readiness having followed the outage, is the
 * drill's verdict. See dependencies.ts for how the servers are restarted.
 */
import { flushRedis, stopMongo, stopRedis, type Stopped } from './dependencies';
import { pidListeningOn } from './processes';

export const DRILL_ACTIONS = ['kill-worker', 'kill-web', 'restart-redis', 'flush-redis', 'restart-mongo'] as const;
export type DrillAction = (typeof DRILL_ACTIONS)[number];

export interface DrillSpec {
  action: DrillAction;
  atMs: number;
  /** restart-*: how long the server stays down (at least). */
  downMs?: number;
}

export interface DrillResult extends DrillSpec {
  firedAtMs: number | null;
  /** The process killed or stopped. */
  pid: number | null;
  /** kill-*: when a process listened on the port again (the supervisor's restart); restart-* and flush: when the web app was ready again. Ms after firing. */
  backAfterMs: number | null;
  /** restart-*: how long the server was down. */
  downForMs?: number;
  /** restart-*: whether the web app's / the worker's readiness answered 503 while the server was down. */
  webNotReady?: boolean;
  workerNotReady?: boolean;
  /** flush-redis: keys there were. */
  keysFlushed?: number;
  error?: string;
}

export interface DrillTarget {
  appUrl: string;
  workerPort: number;
  redisUrl: string;
  mongodbUri: string;
}

const DEFAULT_DOWN_MS = 3_000;
/** A readiness that did not turn 503 by then is a failed drill, not a longer outage. */
const MAX_DOWN_MS = 60_000;
const BACK_WITHIN_MS = 120_000;

export function parseDrill(spec: string): DrillSpec {
  const m = new RegExp(`^(${DRILL_ACTIONS.join('|')})@(\\d+(?:\\.\\d+)?)s(?:\\+(\\d+(?:\\.\\d+)?)s)?$`).exec(spec);
  if (!m || (m[3] !== undefined && !m[1]?.startsWith('restart-'))) {
    throw new Error(`--drill ${spec}: expected ACTION@<seconds>s (ACTION: ${DRILL_ACTIONS.join(', ')}), restart-*@<seconds>s+<down seconds>s`);
  }
  return { action: m[1] as DrillAction, atMs: Number(m[2]) * 1000, ...(m[3] === undefined ? {} : { downMs: Number(m[3]) * 1000 }) };
}

export const describeDrill = (d: DrillSpec) => `${d.action}@${d.atMs / 1000}s${d.downMs === undefined ? '' : `+${d.downMs / 1000}s`}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 200 → true, 503 (or no answer) → false. */
async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function waitUntil(timeoutMs: number, probe: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(250);
  }
  return false;
}

async function killAndWaitForRestart(d: DrillSpec, port: number, now: () => number, log: (line: string) => void): Promise<DrillResult> {
  const pid = pidListeningOn(port);
  const firedAtMs = now();
  if (pid === null) return { ...d, firedAtMs, pid, backAfterMs: null, error: `nothing listens on port ${port}` };
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    return { ...d, firedAtMs, pid, backAfterMs: null, error: (err as Error).message };
  }
  log(`drill: ${d.action} — SIGKILL to pid ${pid} (port ${port}) at ${(firedAtMs / 1000).toFixed(1)} s`);
  for (let waited = 0; waited < BACK_WITHIN_MS; waited += 250) {
    await sleep(250);
    const again = pidListeningOn(port);
    if (again !== null && again !== pid) {
      const backAfterMs = Math.round(now() - firedAtMs);
      log(`drill: ${d.action} — pid ${again} listens on port ${port} again after ${(backAfterMs / 1000).toFixed(1)} s`);
      return { ...d, firedAtMs, pid, backAfterMs };
    }
  }
  return { ...d, firedAtMs, pid, backAfterMs: null, error: `nothing listened on the port again within ${BACK_WITHIN_MS / 1000} s` };
}

/** Stops the server, keeps it down (and watches readiness turn 503), starts it, waits for readiness 200. */
async function outage(d: DrillSpec, target: DrillTarget, now: () => number, log: (line: string) => void): Promise<DrillResult> {
  const webReady = `${target.appUrl}/api/ready`;
  const workerReady = target.workerPort ? `http://127.0.0.1:${target.workerPort}/ready` : null;
  const firedAtMs = now();
  const which = d.action === 'restart-redis' ? 'Redis' : 'the MongoDB server';
  let stopped: Stopped;
  try {
    stopped = d.action === 'restart-redis' ? await stopRedis(target.redisUrl) : await stopMongo(target.mongodbUri);
  } catch (err) {
    return { ...d, firedAtMs, pid: null, backAfterMs: null, error: `could not stop ${which}: ${(err as Error).message}` };
  }
  const downAt = now();
  log(`drill: ${d.action} — ${which} (pid ${stopped.pid}) stopped at ${(downAt / 1000).toFixed(1)} s`);
  const downMs = d.downMs ?? DEFAULT_DOWN_MS;
  let webNotReady = false;
  let workerNotReady = workerReady === null;
  // Down for downMs, and until both said "not ready" (bounded): the drill proves readiness follows the outage.
  await waitUntil(MAX_DOWN_MS, async () => {
    webNotReady ||= !(await ready(webReady));
    workerNotReady ||= workerReady !== null && !(await ready(workerReady));
    return now() - downAt >= downMs && webNotReady && workerNotReady;
  });
  let newPid: number | null;
  try {
    newPid = (await stopped.start()).pid;
  } catch (err) {
    return { ...d, firedAtMs, pid: stopped.pid, backAfterMs: null, error: `could not start ${which} again: ${(err as Error).message}` };
  }
  const downForMs = Math.round(now() - downAt);
  log(`drill: ${d.action} — ${which} answers again (pid ${newPid ?? '?'}) after ${(downForMs / 1000).toFixed(1)} s down`);
  const back = await waitUntil(BACK_WITHIN_MS, async () => (await ready(webReady)) && (workerReady === null || (await ready(workerReady))));
  const backAfterMs = back ? Math.round(now() - firedAtMs) : null;
  const problems = [
    ...(webNotReady ? [] : ['the web app stayed ready while it was down']),
    ...(workerNotReady ? [] : ['the worker stayed ready while it was down']),
    ...(back ? [] : [`readiness not back within ${BACK_WITHIN_MS / 1000} s`]),
  ];
  return { ...d, firedAtMs, pid: stopped.pid, backAfterMs, downForMs, webNotReady, workerNotReady, ...(problems.length ? { error: problems.join('; ') } : {}) };
}

async function flush(d: DrillSpec, target: DrillTarget, now: () => number, log: (line: string) => void): Promise<DrillResult> {
  const firedAtMs = now();
  try {
    const keysFlushed = await flushRedis(target.redisUrl);
    log(`drill: flush-redis — FLUSHALL (${keysFlushed} keys) at ${(firedAtMs / 1000).toFixed(1)} s`);
    const back = await waitUntil(BACK_WITHIN_MS, () => ready(`${target.appUrl}/api/ready`));
    return { ...d, firedAtMs, pid: null, keysFlushed, backAfterMs: back ? Math.round(now() - firedAtMs) : null, ...(back ? {} : { error: 'the web app not ready afterwards' }) };
  } catch (err) {
    return { ...d, firedAtMs, pid: null, backAfterMs: null, error: `FLUSHALL failed: ${(err as Error).message}` };
  }
}

/** Fires each drill at its time (relative to `now()`); resolves with what happened once all fired and came back. */
export async function runDrills(drills: readonly DrillSpec[], target: DrillTarget, now: () => number, log: (line: string) => void): Promise<DrillResult[]> {
  const webPort = Number(new URL(target.appUrl).port || 80);
  return Promise.all(
    drills.map(async (d): Promise<DrillResult> => {
      await sleep(Math.max(0, d.atMs - now()));
      switch (d.action) {
        case 'kill-worker':
          return killAndWaitForRestart(d, target.workerPort, now, log);
        case 'kill-web':
          return killAndWaitForRestart(d, webPort, now, log);
        case 'flush-redis':
          return flush(d, target, now, log);
        case 'restart-redis':
        case 'restart-mongo':
          return outage(d, target, now, log);
      }
    }),
  );
}

/** One line for the report and the summary. */
export function drillDetail(d: DrillResult): string {
  const s = (ms: number | null | undefined) => (ms == null ? '–' : `${(ms / 1000).toFixed(1)} s`);
  const at = s(d.firedAtMs);
  switch (d.action) {
    case 'kill-worker':
    case 'kill-web':
      return `SIGKILL to pid ${d.pid} at ${at}; listening again after ${s(d.backAfterMs)}`;
    case 'flush-redis':
      return `FLUSHALL of ${d.keysFlushed ?? '?'} keys at ${at}; the web app ready after ${s(d.backAfterMs)}`;
    default:
      return `pid ${d.pid} stopped at ${at}, down ${s(d.downForMs)}; readiness 503 while down: web ${d.webNotReady ? 'yes' : 'no'}, worker ${d.workerNotReady ? 'yes' : 'no'}; ready again after ${s(d.backAfterMs)}`;
  }
}
