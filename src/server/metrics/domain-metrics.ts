/**
 * What the order system counts, and the one-line hooks the domain calls.
 * Each hook sits at the single place its event happens (the state machine,
 * the idempotency module, the reservation step, webhook intake, the
 * reconciler's report, the worker's job wrapper), so there is one counter per
 * fact and no registry anywhere else. Counters are per process and start at
 * zero when it starts; Prometheus' rate() and increase() absorb restarts.
 *
 * Metric names (README "Operating it" says which to alert on):
 *   order_transitions_total{action,outcome}     outcome: applied | already-done | refused
 *   idempotency_outcomes_total{outcome}         placeOrder keys: created | replayed | conflict
 *   reservation_results_total{result}           reserved | out_of_stock | unknown_sku (per reservation run)
 *   webhook_verification_failures_total{reason} missing_signature | invalid_signature | malformed_body
 *   reconciler_actions_total{action}            the reconciler report's fields (reserve, paymentRecovered, ...)
 *   reconciler_last_run_timestamp_seconds       when this process last finished a reconciler pass
 *   job_duration_seconds{queue,outcome}         histogram per worker step; outcome: completed | failed
 *   rate_limit_refusals_total{scope}            requests refused by a rate limit (scope: ip, cart, email, ...)
 *   internal_errors_total{transport}            unexpected errors answered generically: trpc | webhook
 *   api_request_duration_seconds{endpoint,via}  histogram of /api/trpc and webhook answers; via: fast-path | next
 *   api_admission_total{outcome,step}           API calls by admission (http/admission.ts): ran | waited | refused; step: order | checkout | cart | browse (cart.create and cart.createWithLines included)
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { processSingleton, registry } from './registry';

const metrics = processSingleton('domain-metrics', () => {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  return {
    transitions: counter('order_transitions_total', 'Order state transitions attempted, by action and outcome (applied, already-done, refused)', ['action', 'outcome']),
    idempotency: counter(
      'idempotency_outcomes_total',
      'placeOrder idempotency keys by outcome: created, replayed (same key, same request), conflict (same key, other request)',
      ['outcome'],
    ),
    reservations: counter('reservation_results_total', 'Reservation runs by result: reserved (every line held), out_of_stock, unknown_sku', ['result']),
    webhookVerificationFailures: counter(
      'webhook_verification_failures_total',
      'Webhook deliveries refused before anything was recorded: missing_signature, invalid_signature, malformed_body',
      ['reason'],
    ),
    reconcilerActions: counter(
      'reconciler_actions_total',
      'Work the reconciler re-drove or cleaned up, by the field of its report (reserve, requestPayment, paymentRecovered, expire, finalize, release, events, keysPurged, ...)',
      ['action'],
    ),
    reconcilerLastRun: new Gauge({
      name: 'reconciler_last_run_timestamp_seconds',
      help: 'When this process last finished a reconciler pass (Unix time); 0 if it never ran one',
      registers,
    }),
    jobDuration: new Histogram({
      name: 'job_duration_seconds',
      help: 'Time a worker spent on one attempt of a job, by queue (one queue per step) and outcome (completed, failed)',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    rateLimitRefusals: counter('rate_limit_refusals_total', 'Requests refused by a rate limit (429), by the scope of the limit that refused them', ['scope']),
    apiRequests: new Histogram({
      name: 'api_request_duration_seconds',
      help: 'Time from a request reaching /api/trpc (endpoint trpc) or the Stripe webhook route (webhook) to its answer, by the path that served it: fast-path (in front of Next) or next',
      labelNames: ['endpoint', 'via'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
      registers,
    }),
    admission: counter(
      'api_admission_total',
      'API calls by how this process admitted them: ran at once, waited for a free slot, or refused as busy (503, Retry-After), by step of a purchase',
      ['outcome', 'step'],
    ),
    internalErrors: counter('internal_errors_total', 'Unexpected errors answered with a generic "Internal error (ref ...)", by transport', ['transport']),
  };
});

// Series that exist from the start, so rate() and alerts see a 0 rather than nothing.
for (const outcome of ['created', 'replayed', 'conflict']) metrics.idempotency.inc({ outcome }, 0);
for (const result of ['reserved', 'out_of_stock', 'unknown_sku']) metrics.reservations.inc({ result }, 0);
for (const reason of ['missing_signature', 'invalid_signature', 'malformed_body']) metrics.webhookVerificationFailures.inc({ reason }, 0);
for (const transport of ['trpc', 'webhook']) metrics.internalErrors.inc({ transport }, 0);
for (const step of ['checkout', 'cart', 'browse']) metrics.admission.inc({ outcome: 'refused', step }, 0);

/**
 * Wraps the state machine's transition so every outcome is counted, whichever
 * way the attempt ended. `actionOf` names the rule (the wrapper cannot import
 * the table without an import cycle). An attempt that throws (an illegal pair,
 * the database away) is not a transition outcome and is not counted.
 */
export function countTransitions<Req, Res extends { outcome: string }>(
  move: (orderId: string, req: Req) => Promise<Res>,
  actionOf: (req: Req) => string,
): (orderId: string, req: Req) => Promise<Res> {
  return async (orderId, req) => {
    const result = await move(orderId, req);
    metrics.transitions.inc({ action: actionOf(req), outcome: result.outcome });
    return result;
  };
}

/** A transition written with the order itself (an order rejected as it is placed): counted as applied. */
export function countAppliedAtCreation(action: string): void {
  metrics.transitions.inc({ action, outcome: 'applied' });
}

export function countIdempotencyOutcome(outcome: 'created' | 'replayed' | 'conflict'): void {
  metrics.idempotency.inc({ outcome });
}

/** One reservation run's result (a retried run counts again: this is work done, not orders). */
export function countReservation(result: { ok: true } | { ok: false; reason: string }): void {
  metrics.reservations.inc({ result: result.ok ? 'reserved' : result.reason.toLowerCase() });
}

export function countWebhookVerificationFailure(reason: 'missing_signature' | 'invalid_signature' | 'malformed_body'): void {
  metrics.webhookVerificationFailures.inc({ reason });
}

/** Adds one reconciler pass's report (`{ reserve: 2, keysPurged: 0, ... }`). */
export function countReconcilerPass(report: object, at = new Date()): void {
  for (const [action, n] of Object.entries(report)) {
    if (typeof n === 'number') metrics.reconcilerActions.inc({ action }, n);
  }
  metrics.reconcilerLastRun.set(at.getTime() / 1000);
}

/** Starts timing one job attempt; call the result with how it ended. */
export function timeJob(queue: string): (outcome: 'completed' | 'failed') => void {
  const end = metrics.jobDuration.startTimer({ queue });
  return (outcome) => end({ outcome });
}

/** For the rate limiter: one call per request it refuses. */
export function countRateLimitRefusal(scope: string): void {
  metrics.rateLimitRefusals.inc({ scope });
}

/** Starts timing one API request; call the result once it is answered. */
export function timeApiRequest(endpoint: 'trpc' | 'webhook', via: 'fast-path' | 'next'): () => void {
  const end = metrics.apiRequests.startTimer({ endpoint, via });
  return () => {
    end();
  };
}

export function countInternalError(transport: 'trpc' | 'webhook'): void {
  metrics.internalErrors.inc({ transport });
}

const STEP_NAMES = ['order', 'checkout', 'cart', 'browse'] as const;

/** For the web process's admission (http/admission.ts): one call per API call it admits or refuses. */
export function countAdmission(outcome: 'ran' | 'waited' | 'refused', priority: 0 | 1 | 2 | 3): void {
  metrics.admission.inc({ outcome, step: STEP_NAMES[priority] });
}
