/**
 * The progress line on stderr: rewritten in place every second on a
 * terminal, one line every 5 s otherwise (a log file should not fill with
 * carriage returns).
 */
import type { Recorder } from './recorder';

export function progressLine(rec: Recorder, totalBuyers: number, previous: { t: number; decided: number }): string {
  const t = rec.now();
  const decided = rec.counter('held') + rec.counter('sold_out');
  const rate = t > previous.t ? ((decided - previous.decided) * 1000) / (t - previous.t) : 0;
  previous.t = t;
  previous.decided = decided;
  const states = rec.stateCounts();
  const finished = (states.CONFIRMED ?? 0) + (states.REJECTED ?? 0) + (states.failed ?? 0);
  return [
    `${(t / 1000).toFixed(0).padStart(4)}s`,
    `buyers ${rec.buyerStates.size}/${totalBuyers} started, ${finished} finished`,
    `decided ${decided} (${rate.toFixed(1)}/s)`,
    `sold ${rec.counter('confirmed')}`,
    `errors ${rec.counter('buyer_errors')} (+${rec.counter('connection_errors')} retried)`,
    `busy ${rec.counter('busy_retries')}`,
  ].join(' · ');
}

export function startProgress(rec: Recorder, totalBuyers: number, extra: () => string = () => ''): () => void {
  const tty = process.stderr.isTTY;
  const previous = { t: 0, decided: 0 };
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    const line = progressLine(rec, totalBuyers, previous) + extra();
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (ticks % 5 === 0) process.stderr.write(`${line}\n`);
  }, 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write(`\r\x1b[2K${progressLine(rec, totalBuyers, previous)}\n`);
  };
}
