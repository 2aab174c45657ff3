/**
 * What a scenario file declares: the stock, the load model, how each buyer
 * behaves, the simulator's webhook switches, and the thresholds (k6-style)
 * the run must meet. The numbers can be overridden from the environment
 * (UNITS, BUYERS, CONCURRENCY, DURATION_S, POLL_MS) without editing the file.
 */
import type { LoadModel } from './executor';
import type { SimSwitches } from './simulator';
import { checkThresholds, type Thresholds } from './thresholds';

export interface BuyerBehaviour {
  /** Pay when held and wait for CONFIRMED (false: stop at the decision). */
  pay: boolean;
  /** Share of buyers who send placeOrder again with the same key. */
  repeatFraction: number;
  /** How many extra calls such a buyer sends. */
  repeats: number;
  /** Share of those repeating buyers who send all their calls at once. */
  concurrentRepeatFraction: number;
  /** Share of buyers whose first card is declined (they pay with a good one next). */
  declineFraction: number;
  pollMs: number;
  /** A buyer not done after this long is an error. */
  deadlineMs: number;
}

export interface Scenario {
  name: string;
  description: string;
  units: number;
  /** Documents the product's stock is split over (src/server/inventory/stripes.ts); default 1. */
  stripes?: number;
  model: LoadModel;
  buyer: BuyerBehaviour;
  /** Simulator switches for the run; the previous values are put back afterwards. */
  sim?: SimSwitches;
  /** With `sim.hold`: send the held deliveries every this many ms. */
  flushEveryMs?: number;
  /** Every order must be terminal or payable this long after the last arrival (unsettled_orders). */
  settleMs: number;
  /** Measure placeOrder against the bare insert+enqueue route (needs LOAD_BASELINE_ROUTE=1 on the app). */
  baselineRequests?: number;
  thresholds: Thresholds;
}

export const DEFAULT_BUYER: BuyerBehaviour = {
  pay: true,
  repeatFraction: 0,
  repeats: 0,
  concurrentRepeatFraction: 0,
  declineFraction: 0,
  pollMs: 50,
  deadlineMs: 180_000,
};

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}

export function defineScenario(s: Scenario): Scenario {
  checkThresholds(s.thresholds);
  if (s.units < 1 || s.model.buyers < 1) throw new Error(`${s.name}: units and buyers must be at least 1`);
  return s;
}
