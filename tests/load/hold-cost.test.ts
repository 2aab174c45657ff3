/**
 * load/hold-cost.ts against the suite's database, small: it runs through,
 * every hold, sale and release it makes takes effect (the script stops
 * otherwise), and the product document it measures grows with the holds and
 * sales it was given, so its rows measure what they say.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../setup/processes';

interface Row {
  holds: number;
  sales: number;
  docKiB: number;
  concurrentPerSecond: number;
}

describe('load/hold-cost.ts', () => {
  it('measures holds, sales and releases on a product carrying 0 and 50 holds, then 50 sales too', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'load/hold-cost.ts'], {
      cwd: ROOT,
      env: { ...process.env, HOLDS: '0,50', RUNS: '5', CONCURRENCY: '3' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const rows = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Row);
    expect(rows.map((r) => [r.holds, r.sales])).toEqual([
      [0, 0],
      [50, 0],
      [50, 50],
    ]);
    const sizes = rows.map((r) => r.docKiB);
    expect(sizes[1]).toBeGreaterThan(sizes[0] as number);
    expect(sizes[2]).toBeGreaterThan(sizes[1] as number);
    for (const r of rows) expect(r.concurrentPerSecond).toBeGreaterThan(0);
    expect(run.stdout).toContain('| holds in flight |');
  });
});
