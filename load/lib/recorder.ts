/**
 * What a run records while it goes: latency samples (trends), counters, the
 * moment of each notable event (for per-second charts), and the last state
 * each buyer saw (for "orders by state over time", counted from the buyers'
 * own view so that charting costs the database nothing).
 */
import type { Sample } from './stats';

export class Recorder {
  /** performance.now() at the start of the measured run. */
  readonly origin = performance.now();
  readonly startedAt = new Date();
  readonly trends = new Map<string, Sample[]>();
  readonly counters = new Map<string, number>();
  readonly buyerStates = new Map<number, string>();
  /** First few messages per error kind, for the report. */
  readonly errorSamples = new Map<string, string[]>();

  now(): number {
    return performance.now() - this.origin;
  }

  trend(name: string, value: number, t = this.now()): void {
    let samples = this.trends.get(name);
    if (!samples) this.trends.set(name, (samples = []));
    samples.push({ t, v: value });
  }

  /** Counts one occurrence, remembering when (a zero-valued sample in the trend `<name>@`). */
  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
    this.trend(`${name}@`, by);
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  values(name: string): number[] {
    return (this.trends.get(name) ?? []).map((s) => s.v);
  }

  /** Times (ms since start) at which `count(name)` was called. */
  times(name: string): Sample[] {
    return this.trends.get(`${name}@`) ?? [];
  }

  error(kind: string, message: string): void {
    this.count(kind);
    const samples = this.errorSamples.get(kind) ?? [];
    if (samples.length < 5) samples.push(message);
    this.errorSamples.set(kind, samples);
  }

  setBuyerState(buyer: number, state: string): void {
    this.buyerStates.set(buyer, state);
  }

  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of this.buyerStates.values()) counts[s] = (counts[s] ?? 0) + 1;
    return counts;
  }
}
