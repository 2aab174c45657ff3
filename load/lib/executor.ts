/**
 * The two load models, as k6 names them:
 *   closed  N virtual users, each starting its next buyer when the last one
 *           finished: the arrival rate adapts to how fast the system answers.
 *   open    buyers arrive on a fixed schedule (evenly over `durationMs`)
 *           whether or not earlier ones got an answer: a slow system faces a
 *           growing crowd, as on a real sale.
 * `run(i)` plays buyer i and must not throw.
 */
import type { Recorder } from './recorder';

export type LoadModel =
  | { kind: 'closed'; buyers: number; concurrency: number }
  | { kind: 'open'; buyers: number; durationMs: number };

export async function runClosed(buyers: number, concurrency: number, run: (i: number) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const vu = async () => {
    while (next < buyers && !stop()) await run(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, buyers) }, vu));
}

/** Launches buyer i at start + i·durationMs/buyers; records how late each launch was (arrival_lag_ms). */
export async function runOpen(buyers: number, durationMs: number, run: (i: number) => Promise<void>, rec: Recorder, stop: () => boolean = () => false): Promise<void> {
  const start = performance.now();
  const interval = buyers > 1 ? durationMs / buyers : 0;
  const running: Promise<void>[] = [];
  let next = 0;
  while (next < buyers && !stop()) {
    const now = performance.now();
    // Everything due by now goes at once: a busy event loop delays arrivals, never drops them.
    while (next < buyers && start + next * interval <= now) {
      rec.trend('arrival_lag_ms', now - (start + next * interval));
      running.push(run(next++));
    }
    if (next < buyers) await new Promise((r) => setTimeout(r, Math.max(0, start + next * interval - performance.now())));
  }
  await Promise.all(running);
}

export function runModel(model: LoadModel, run: (i: number) => Promise<void>, rec: Recorder, stop: () => boolean = () => false): Promise<void> {
  return model.kind === 'closed' ? runClosed(model.buyers, model.concurrency, run, stop) : runOpen(model.buyers, model.durationMs, run, rec, stop);
}
