/**
 * Thresholds as k6 writes them: `{ decision_ms: ['p(50)<150', 'p(99)<1000'] }`,
 * evaluated once at the end of a run. A run with any threshold missed exits
 * non-zero. An expression is `<aggregation> <operator> <number>`:
 *   trend    (latencies)        p(N), avg, min, max, med, count
 *   counter  (things counted)   count, rate (per second over the run)
 *   gauge    (one value)        value
 * A threshold on a metric the run did not produce fails: a target nobody
 * measured is not met.
 */
import { percentile, sortedValues } from './stats';

export type Thresholds = Record<string, string[]>;

export type MetricValue =
  | { kind: 'trend'; values: readonly number[] }
  | { kind: 'counter'; count: number; seconds: number }
  | { kind: 'gauge'; value: number };

export interface ThresholdResult {
  metric: string;
  expression: string;
  /** The measured value the expression compared, null when there was none. */
  actual: number | null;
  ok: boolean;
  /** Why it failed without a comparison (no such metric, no samples, bad expression), or why it was skipped. */
  problem?: string;
  /** Not judged in this run (what it measures was turned off); counts as met. */
  skipped?: boolean;
}

const OPERATORS = {
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '==': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
} as const;
type Operator = keyof typeof OPERATORS;

export interface ParsedExpression {
  aggregation: string;
  /** For p(N). */
  p?: number;
  operator: Operator;
  bound: number;
}

const EXPRESSION = /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|min|max|med|count|rate|value)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

export function parseExpression(expression: string): ParsedExpression {
  const m = EXPRESSION.exec(expression);
  if (!m?.[1] || !m[3] || !m[4]) throw new Error(`threshold "${expression}" is not <aggregation> <operator> <number>`);
  const p = m[2] === undefined ? undefined : Number(m[2]);
  if (p !== undefined && p > 100) throw new Error(`threshold "${expression}": a percentile is at most 100`);
  return { aggregation: p === undefined ? m[1] : 'p', ...(p === undefined ? {} : { p }), operator: m[3] as Operator, bound: Number(m[4]) };
}

/** The value an aggregation reads from a metric; a string says why there is none. */
function aggregate(metric: MetricValue, parsed: ParsedExpression): number | string {
  const { aggregation } = parsed;
  if (metric.kind === 'gauge') return aggregation === 'value' ? metric.value : `a gauge has only value, not ${aggregation}`;
  if (metric.kind === 'counter') {
    if (aggregation === 'count') return metric.count;
    if (aggregation === 'rate') return metric.seconds > 0 ? metric.count / metric.seconds : 'no duration to compute a rate over';
    return `a counter has count and rate, not ${aggregation}`;
  }
  if (aggregation === 'count') return metric.values.length;
  if (metric.values.length === 0) return 'no samples';
  const sorted = sortedValues(metric.values);
  switch (aggregation) {
    case 'p':
      return percentile(sorted, parsed.p ?? 0);
    case 'med':
      return percentile(sorted, 50);
    case 'min':
      return sorted[0] as number;
    case 'max':
      return sorted[sorted.length - 1] as number;
    case 'avg':
      return sorted.reduce((a, b) => a + b, 0) / sorted.length;
    default:
      return `a trend has p(N), avg, min, max, med and count, not ${aggregation}`;
  }
}

export function evaluateThresholds(thresholds: Thresholds, metrics: Record<string, MetricValue | undefined>): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [name, expressions] of Object.entries(thresholds)) {
    for (const expression of expressions) {
      const metric = metrics[name];
      if (!metric) {
        results.push({ metric: name, expression, actual: null, ok: false, problem: 'the run has no such metric' });
        continue;
      }
      let parsed: ParsedExpression;
      try {
        parsed = parseExpression(expression);
      } catch (err) {
        results.push({ metric: name, expression, actual: null, ok: false, problem: (err as Error).message });
        continue;
      }
      const actual = aggregate(metric, parsed);
      if (typeof actual === 'string') results.push({ metric: name, expression, actual: null, ok: false, problem: actual });
      else results.push({ metric: name, expression, actual, ok: OPERATORS[parsed.operator](actual, parsed.bound) });
    }
  }
  return results;
}

/** Fails fast on a scenario file's typo, before any load is sent. */
export function checkThresholds(thresholds: Thresholds): void {
  for (const expressions of Object.values(thresholds)) for (const e of expressions) parseExpression(e);
}
