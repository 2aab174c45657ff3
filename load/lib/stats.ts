/**
 * Latency statistics: nearest-rank percentiles over the recorded samples (a
 * sorted array: runs record thousands of samples, not millions, so exact
 * percentiles cost nothing), and per-second buckets for the report's
 * over-time charts.
 */

export interface Sample {
  /** Milliseconds since the run started, when the measured thing finished. */
  t: number;
  v: number;
}

export interface TrendSummary {
  count: number;
  min: number;
  max: number;
  avg: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentile of an ascending array: the smallest value with at least p % of the samples at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function sortedValues(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

export function summarize(values: readonly number[]): TrendSummary {
  const s = sortedValues(values);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    min: s.length ? (s[0] as number) : Number.NaN,
    max: s.length ? (s[s.length - 1] as number) : Number.NaN,
    avg: s.length ? sum / s.length : Number.NaN,
    med: percentile(s, 50),
    p90: percentile(s, 90),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
  };
}

export interface Bucket {
  /** Start of the bucket, seconds since the run started. */
  second: number;
  count: number;
  p50: number | null;
  p99: number | null;
}

/** Samples grouped by the second they finished in: how many, and their p50 / p99. */
export function perSecond(samples: readonly Sample[], seconds: number): Bucket[] {
  const groups: number[][] = Array.from({ length: seconds }, () => []);
  for (const s of samples) groups[Math.min(seconds - 1, Math.max(0, Math.floor(s.t / 1000)))]?.push(s.v);
  return groups.map((g, second) => {
    const sorted = sortedValues(g);
    return { second, count: g.length, p50: g.length ? percentile(sorted, 50) : null, p99: g.length ? percentile(sorted, 99) : null };
  });
}

export const round = (n: number, digits = 1): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);
