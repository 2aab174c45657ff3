/**
 * load/procedure-cost.ts against the suite's app, worker and simulator,
 * small: every buyer gets through every step (the script stops otherwise),
 * and each step's row and the paying buyer's total carry CPU measured in the
 * processes it names, so the table measures what it says; the total sums the
 * steps the load driver's buyer takes.
 */
import { describe, expect, it } from 'vitest';
import { runAgainstSuite, tableRows } from './suite-script';

const STEPS = [
  'cart.createWithLines',
  'checkout.placeOrder, until PAYMENT_PENDING',
  'orders.get (not in the sum)',
  'orders.waitForChange, answered at once',
  'pay at the simulator, until CONFIRMED',
  'a paying buyer',
];

describe('load/procedure-cost.ts', () => {
  it('takes 4 buyers through every step of a purchase and reports CPU per step and process', () => {
    const run = runAgainstSuite('procedure-cost.ts', { N: '4', CONCURRENCY: '2' });
    expect(run.status, run.stderr).toBe(0);
    const { header, rows } = tableRows(run.stdout, 'step');
    expect([...rows.keys()]).toEqual(STEPS);
    const column = (role: string) => header.indexOf(role);
    expect(column('web')).toBeGreaterThan(0);
    expect(column('worker')).toBeGreaterThan(0);
    const total = rows.get('a paying buyer') ?? [];
    // The web app answers every call; the worker makes the payment intent and finalizes.
    expect(Number(total[column('web')])).toBeGreaterThan(0);
    expect(Number(total[column('worker')])).toBeGreaterThan(0);
    expect(Number(total[column('all')])).toBeGreaterThanOrEqual(Number(total[column('web')]));
    // The sum is of the steps the load driver's buyer takes: orders.get is left out (each cell is rounded to 0.1).
    const taken = STEPS.filter((s) => s !== 'a paying buyer' && s !== 'orders.get (not in the sum)');
    const summed = taken.reduce((sum, s) => sum + Number((rows.get(s) ?? [])[column('all')]), 0);
    expect(Math.abs(Number(total[column('all')]) - summed)).toBeLessThanOrEqual(0.05 * (taken.length + 1) + 1e-9);
    expect(run.stdout).toMatch(/at most \d+ paying buyers per second/);
  }, 150_000);
});
