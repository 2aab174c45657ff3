/**
 * load/request-floor.ts against the suite's app, small: each kind of request
 * is answered as the table says (the refused call refused by validation, the
 * cart created), the baseline route is skipped with its reason when the app
 * does not serve it (the suite's does not), and the per-request CPU cells
 * come from the processes they name.
 */
import { describe, expect, it } from 'vitest';
import { runAgainstSuite, tableRows } from './suite-script';

describe('load/request-floor.ts', () => {
  it('measures the refused call and the cart, and skips the baseline route the app does not serve', () => {
    const run = runAgainstSuite('request-floor.ts', { N: '200', CONCURRENCY: '4' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('the baseline route answered 404: start the app with LOAD_BASELINE_ROUTE=1');
    const { header, rows } = tableRows(run.stdout, 'request');
    const kinds = ['tRPC call refused by validation', 'cart.create (one insert)'];
    expect([...rows.keys()]).toEqual(kinds);
    const cell = (row: string, column: string) => (rows.get(row) ?? [])[header.indexOf(column)];
    expect(cell('tRPC call refused by validation', 'answers')).toBe('200 × 400');
    expect(cell('cart.create (one insert)', 'answers')).toBe('200 × 200');
    for (const row of kinds) {
      // The web app answered every request; the whole machine spent at least what it did.
      expect(Number(cell(row, 'web')), row).toBeGreaterThan(0);
      expect(Number(cell(row, 'machine')), row).toBeGreaterThanOrEqual(Number(cell(row, 'web')));
    }
  });
});
