/**
 * Named points between two writes of a step, where tests kill the worker
 * (or, for placeOrder's, the process placing the order) (SIGKILL, no clean-up) to prove the step is safe to resume from anywhere.
 * Inert unless CRASH_AT names the point; with CRASH_ONCE_FILE set, only the
 * first process to reach it dies (it creates the file first), so the
 * restarted worker can finish the job.
 */
import { existsSync, writeFileSync } from 'node:fs';

export const CRASH_POINTS = [
  'reserve:after-holds',
  'place-order:before-payment',
  'request-payment:after-intent',
  'mark-paid:after-paid',
  'process-event:after-apply',
  'finalize:after-first-line',
  'finalize:after-sell',
  'expire:after-transition',
  'release:after-holds',
  'late-payment:after-reserve',
  'late-payment:after-refund',
  'transfer:after-take',
  'transfer:after-credit',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export function crashPoint(point: CrashPoint): void {
  if (process.env.CRASH_AT !== point) return;
  const once = process.env.CRASH_ONCE_FILE;
  if (once) {
    if (existsSync(once)) return;
    writeFileSync(once, point);
  }
  process.kill(process.pid, 'SIGKILL');
}
