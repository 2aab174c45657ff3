/**
 * Failure drills during a run: `--drill kill-worker@10s` sends SIGKILL to the
 * worker 10 s into the run, `--drill kill-web@5s` to the web app (its
 * supervisor, `npm run start:all`, restarts either). The process is the one
 * listening on the worker's HTTP port or the app's port at that moment. The
 * run must still end exact and auditor-clean: that is the drill's verdict.
 */
import { pidListeningOn } from './processes';

export interface DrillSpec {
  action: 'kill-worker' | 'kill-web';
  atMs: number;
}

export interface DrillResult extends DrillSpec {
  firedAtMs: number | null;
  pid: number | null;
  /** When a process was listening on the port again (the supervisor's restart), ms after the kill. */
  backAfterMs: number | null;
  error?: string;
}

export function parseDrill(spec: string): DrillSpec {
  const m = /^(kill-worker|kill-web)@(\d+(?:\.\d+)?)s$/.exec(spec);
  if (!m) throw new Error(`--drill ${spec}: expected kill-worker@<seconds>s or kill-web@<seconds>s`);
  return { action: m[1] as DrillSpec['action'], atMs: Number(m[2]) * 1000 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fires each drill at its time (relative to `now()`); resolves with what happened once all fired and came back. */
export async function runDrills(drills: readonly DrillSpec[], ports: { web: number; worker: number }, now: () => number, log: (line: string) => void): Promise<DrillResult[]> {
  return Promise.all(
    drills.map(async (d): Promise<DrillResult> => {
      await sleep(Math.max(0, d.atMs - now()));
      const port = d.action === 'kill-worker' ? ports.worker : ports.web;
      const pid = pidListeningOn(port);
      const firedAtMs = now();
      if (pid === null) return { ...d, firedAtMs, pid, backAfterMs: null, error: `nothing listens on port ${port}` };
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        return { ...d, firedAtMs, pid, backAfterMs: null, error: (err as Error).message };
      }
      log(`drill: ${d.action} — SIGKILL to pid ${pid} (port ${port}) at ${(firedAtMs / 1000).toFixed(1)} s`);
      for (let waited = 0; waited < 120_000; waited += 250) {
        await sleep(250);
        const again = pidListeningOn(port);
        if (again !== null && again !== pid) {
          const backAfterMs = Math.round(now() - firedAtMs);
          log(`drill: ${d.action} — pid ${again} listens on port ${port} again after ${(backAfterMs / 1000).toFixed(1)} s`);
          return { ...d, firedAtMs, pid, backAfterMs };
        }
      }
      return { ...d, firedAtMs, pid, backAfterMs: null, error: 'nothing listened on the port again within 120 s' };
    }),
  );
}
