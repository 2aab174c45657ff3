/**
 * Operating the system: liveness and readiness of the web app and the worker,
 * their Prometheus metrics after a real purchase, a request id followed from
 * the web app's log into the worker's, and unexpected errors answered with a
 * reference to their log line instead of their message. All against the
 * suite's real processes (logs in .run/test/logs/).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Cart } from '../../prisma-free-models';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { logger } from '../../src/server/logger';
import { api, appUrl, cartWith, customer, env, manualDeps, newKey, seedProduct, signedEvent, sim, trpcFailure, waitFor, waitForState } from '../helpers';
import { scrape, type Scrape } from '../metrics-scrape';
import { LOG_DIR } from '../setup/processes';

const workerUrl = () => env('WORKER_URL');
const webMetrics = () => scrape(`${appUrl()}/api/metrics`);
const workerMetrics = () => scrape(`${workerUrl()}/metrics`);
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
const newRequestId = () => `obs-${randomBytes(6).toString('hex')}`;

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  orderId?: string;
  ref?: string;
  err?: { message?: string; stack?: string };
  [key: string]: unknown;
}

/** The JSON lines of a suite process's log (Next prints some plain lines too). */
function logLines(process: 'app' | 'worker'): LogLine[] {
  return readFileSync(path.join(LOG_DIR, `${process}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

const waitForLog = (process: 'app' | 'worker', what: string, match: (l: LogLine) => boolean) =>
  waitFor(`${what} in ${process}.log`, () => Promise.resolve(logLines(process).filter(match)), (lines) => lines.length > 0, 20_000);

/** A tRPC call over raw HTTP, to see the status and headers the typed client hides. */
async function rawCall(procedure: string, input: unknown, opts: { mutation?: boolean; headers?: Record<string, string> } = {}) {
  const url = `${appUrl()}/api/trpc/${procedure}`;
  const res = opts.mutation
    ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...opts.headers }, body: JSON.stringify(input) })
    : await fetch(input === undefined ? url : `${url}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: opts.headers });
  return { status: res.status, requestId: res.headers.get('x-request-id'), body: (await res.json()) as { result?: { data: unknown }; error?: { message: string; data: Record<string, unknown> } } };
}

describe('liveness and readiness', () => {
  it('the web app answers /api/health and, with MongoDB and Redis up, /api/ready', async () => {
    const health = await fetch(`${appUrl()}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${appUrl()}/api/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { mongodb: 'ok', redis: 'ok' }, failed: [] });
  });

  it('the worker answers /health and /ready on its own port', async () => {
    const health = await fetch(`${workerUrl()}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${workerUrl()}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { mongodb: 'ok', redis: 'ok', workers: 'ok' }, failed: [] });
    expect((await fetch(`${workerUrl()}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${workerUrl()}/health`, { method: 'POST' })).status).toBe(405);
  });
});

describe('metrics', () => {
  it('scraped after a purchase, show its transitions, idempotency outcomes and reservation results, per process', async () => {
    const [web0, worker0] = await Promise.all([webMetrics(), workerMetrics()]);

    // One order bought (its key used three times), one cancelled, one rejected for want of stock.
    const sku = await seedProduct(3);
    const key = newKey();
    const cartId = await cartWith([{ sku, qty: 1 }]);
    const placed = await api(key).checkout.placeOrder.mutate({ cartId, customer });
    expect((await api(key).checkout.placeOrder.mutate({ cartId, customer })).replayed).toBe(true);
    const conflict = await trpcFailure(api(key).checkout.placeOrder.mutate({ cartId, customer: { ...customer, name: 'Someone Else' } }));
    expect(conflict.data?.domainCode).toBe('IDEMPOTENCY_CONFLICT');
    const pending = await waitForState(placed.orderId, ['PAYMENT_PENDING']);
    await sim.pay(pending.paymentIntentId!);
    await waitForState(placed.orderId, ['CONFIRMED']);

    const toCancel = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer });
    await waitForState(toCancel.orderId, ['PAYMENT_PENDING']);
    await api().orders.cancel.mutate({ orderId: toCancel.orderId, accessToken: toCancel.accessToken });

    const scarce = await seedProduct(1);
    const tooMany = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku: scarce, qty: 2 }]), customer });
    await waitForState(tooMany.orderId, ['REJECTED']);

    // Two deliveries that fail verification.
    const webhook = `${appUrl()}/api/webhooks/stripe`;
    const body = JSON.stringify({ id: 'evt_forged_metrics', type: 'payment_intent.succeeded', data: { object: { id: 'pi_x' } } });
    expect((await fetch(webhook, { method: 'POST', body })).status).toBe(400);
    expect((await fetch(webhook, { method: 'POST', body, headers: { 'stripe-signature': 't=1,v1=deadbeef' } })).status).toBe(400);

    // The web process: placeOrder's idempotency, the cancel, the refused deliveries.
    const web1 = await webMetrics();
    expect(delta(web0, web1, 'idempotency_outcomes_total', { outcome: 'created' })).toBe(3);
    expect(delta(web0, web1, 'idempotency_outcomes_total', { outcome: 'replayed' })).toBe(1);
    expect(delta(web0, web1, 'idempotency_outcomes_total', { outcome: 'conflict' })).toBe(1);
    expect(delta(web0, web1, 'order_transitions_total', { action: 'cancel', outcome: 'applied' })).toBe(1);
    // placeOrder reserves as it places (deps.reserveAtPlacement) and asks for the PaymentIntent
    // (deps.paymentAtPlacement): the two orders the stock covered.
    expect(delta(web0, web1, 'order_transitions_total', { action: 'reserve', outcome: 'applied' })).toBe(2);
    expect(delta(web0, web1, 'order_transitions_total', { action: 'request-payment', outcome: 'applied' })).toBe(2);
    expect(delta(web0, web1, 'reservation_results_total', { result: 'reserved' })).toBe(2);
    // Stock that visibly cannot cover an order rejects it as it is placed (place-order.ts).
    expect(delta(web0, web1, 'order_transitions_total', { action: 'reject', outcome: 'applied' })).toBe(1);
    expect(delta(web0, web1, 'webhook_verification_failures_total', { reason: 'missing_signature' })).toBe(1);
    expect(delta(web0, web1, 'webhook_verification_failures_total', { reason: 'invalid_signature' })).toBe(1);
    // The production server answers both endpoints in front of Next's router (src/server/http/fast-path.ts).
    expect(delta(web0, web1, 'api_request_duration_seconds_count', { endpoint: 'trpc', via: 'fast-path' })).toBeGreaterThanOrEqual(8);
    expect(delta(web0, web1, 'api_request_duration_seconds_count', { endpoint: 'webhook', via: 'fast-path' })).toBeGreaterThanOrEqual(2);

    // The worker: every later step of the purchase and the jobs that ran them.
    const worker1 = await waitFor(
      'the worker to count the finalization',
      workerMetrics,
      (m) => delta(worker0, m, 'order_transitions_total', { action: 'finalize', outcome: 'applied' }) >= 1,
    );
    for (const action of ['mark-paid', 'finalize']) {
      expect(delta(worker0, worker1, 'order_transitions_total', { action, outcome: 'applied' }), action).toBeGreaterThanOrEqual(1);
    }
    // The cancelled order's holds are given back by its release job.
    expect(delta(worker0, worker1, 'job_duration_seconds_count', { queue: 'release', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    // Finalization runs in the event's job, right after mark-paid.
    expect(delta(worker0, worker1, 'job_duration_seconds_count', { queue: 'webhook-events', outcome: 'completed' })).toBeGreaterThanOrEqual(1);
  });

  it('show orders by state, queues, the reconciler and the default Node metrics from both processes', async () => {
    for (const read of [webMetrics, workerMetrics]) {
      // orders_in_state is cached for a few seconds: wait for a snapshot that has this file's orders.
      const m = await waitFor('orders by state', read, (s) => s.value('orders_in_state', { state: 'CONFIRMED' }) >= 1 && s.value('orders_in_state', { state: 'CANCELLED' }) >= 1);
      expect(m.value('metrics_source_up', { source: 'mongodb' })).toBe(1);
      expect(m.value('metrics_source_up', { source: 'redis' })).toBe(1);
      expect(m.has('orders_oldest_in_state_seconds', { state: 'PAYMENT_PENDING' })).toBe(true);
      for (const queue of ['reservation', 'payment', 'webhook-events', 'finalization', 'expiry', 'release', 'maintenance']) {
        for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(m.has('queue_jobs', { queue, state }), `${queue} ${state}`).toBe(true);
      }
      expect(m.has('process_cpu_user_seconds_total')).toBe(true);
      expect(m.has('nodejs_heap_size_used_bytes')).toBe(true);
      // Declared for the rate limiter; it has samples once something is refused.
      expect(m.text).toContain('# TYPE rate_limit_refusals_total counter');
    }
    // The reconciler runs every 2 s in the suite's worker.
    const worker = await waitFor('a reconciler pass', workerMetrics, (m) => m.value('reconciler_last_run_timestamp_seconds') > 0);
    expect(worker.has('reconciler_actions_total', { action: 'reserve' })).toBe(true);
  });
});

describe('request ids', () => {
  it("follow an order from the web app's log into the worker's, and come back in X-Request-Id", async () => {
    const requestId = newRequestId();
    const cartId = await cartWith([{ sku: await seedProduct(2), qty: 1 }]);
    const res = await rawCall('checkout.placeOrder', { cartId, customer }, { mutation: true, headers: { 'Idempotency-Key': newKey(), 'X-Request-Id': requestId } });
    expect(res.status).toBe(200);
    expect(res.requestId).toBe(requestId);
    const { orderId, accessToken } = res.body.result!.data as { orderId: string; accessToken: string };
    await waitForState(orderId, ['PAYMENT_PENDING']);

    const ours = (l: { requestId?: string; orderId?: string }) => l.requestId === requestId && l.orderId === orderId;
    // The call's last line first (the log is written as the call goes on), then all of them.
    await waitForLog('app', 'the payment request line', (l) => ours(l) && l.action === 'request-payment');
    const web = await waitForLog('app', 'the placeOrder lines', ours);
    expect(web.map((l) => l.msg)).toContain('placeOrder');
    // The reservation and the payment request made as the order was placed log under the request's id.
    expect(web.some((l) => l.action === 'reserve' && l.outcome === 'applied')).toBe(true);
    expect(web.some((l) => l.action === 'request-payment' && l.outcome === 'applied')).toBe(true);
    // The customer cancels: the release job the cancel enqueued logs in the worker under the cancel's id.
    const cancelId = newRequestId();
    const cancelled = await rawCall('orders.cancel', { orderId, accessToken }, { mutation: true, headers: { 'X-Request-Id': cancelId } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.requestId).toBe(cancelId);
    const worker = await waitForLog('worker', 'the release lines', (l) => l.requestId === cancelId && l.orderId === orderId && l.action === 'release');
    expect(worker[0]).toMatchObject({ queue: 'release', outcome: 'applied' });
  });

  it('are generated when the caller sends none or one that is not a plain token', async () => {
    for (const header of [undefined, 'has spaces', 'x'.repeat(200), 'line\\nbreak']) {
      const res = await rawCall('catalog.list', undefined, { headers: header === undefined ? {} : { 'X-Request-Id': header } });
      expect(res.status).toBe(200);
      expect(res.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });
});

describe('unexpected errors', () => {
  const m = manualDeps();
  afterAll(async () => {
    setOperationGate(undefined);
    await m.close();
  });

  it('answer "Internal error (ref <request id>)" over tRPC, with the full error logged under that ref', async () => {
    const before = await webMetrics();
    const { cartId } = await api().cart.create.mutate();
    // A cart document no code would write: reading it fails inside the domain with a TypeError.
    await Cart.collection.updateOne({ _id: cartId } as never, { $set: { lines: 'not a list' } });
    const requestId = newRequestId();

    const res = await rawCall('cart.get', { cartId }, { headers: { 'X-Request-Id': requestId } });
    expect(res.status).toBe(500);
    expect(res.requestId).toBe(requestId);
    expect(res.body.error?.message).toBe(`Internal error (ref ${requestId})`);
    expect(JSON.stringify(res.body)).not.toMatch(/is not a function|lines/);
    expect(res.body.error?.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', domainCode: null, field: null, zodError: null });

    const [logged] = await waitForLog('app', 'the unexpected error', (l) => l.ref === requestId);
    expect(logged).toMatchObject({ level: 50, msg: 'unexpected error', requestId, transport: 'trpc', path: 'cart.get' });
    expect(logged!.err?.message).toMatch(/is not a function/);
    expect(logged!.err?.stack).toBeTruthy();
    expect(delta(before, await webMetrics(), 'internal_errors_total', { transport: 'trpc' })).toBe(1);
  });

  it('leave domain and validation errors their own clear messages', async () => {
    const missing = await rawCall('cart.get', { cartId: 'c'.repeat(24) });
    expect(missing.status).toBe(404);
    expect(missing.body.error?.message).toBe('Cart not found');
    const invalid = await rawCall('cart.get', { cartId: 'no' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.message).toMatch(/^cartId: /);
  });

  it('answer "Internal error (ref <request id>)" from the webhook route, with the full error logged under that ref', async () => {
    // The route itself, in this process, over the real runtime; the store fails in a way no code maps.
    const { POST } = await import('../../src/app/api/webhooks/stripe/route');
    setOperationGate((op) => {
      if (op.model === 'WebhookEvent' && op.op === 'insert') throw new Error('storage fault on mongo-7.internal:27017');
    });
    const errors = vi.spyOn(logger, 'error');
    try {
      const requestId = newRequestId();
      const { body, signature } = signedEvent(m.deps, { id: `evt_fault_${requestId}`, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_fault', object: 'payment_intent', metadata: {} } } });
      const res = await POST(new Request('http://app/api/webhooks/stripe', { method: 'POST', body, headers: { 'stripe-signature': signature, 'x-request-id': requestId } }));
      expect(res.status).toBe(500);
      expect(res.headers.get('x-request-id')).toBe(requestId);
      const answer = await res.text();
      expect(JSON.parse(answer)).toEqual({ received: false, error: `Internal error (ref ${requestId})` });
      expect(answer).not.toContain('mongo-7');
      const logged = errors.mock.calls.find(([fields]) => (fields as { ref?: string }).ref === requestId);
      expect(logged?.[1]).toBe('unexpected error');
      expect((logged?.[0] as { err: Error }).err.message).toBe('storage fault on mongo-7.internal:27017');
    } finally {
      errors.mockRestore();
      setOperationGate(undefined);
      const { getRuntime } = await import('../../src/server/runtime');
      const runtime = await getRuntime();
      // Everything the route's runtime opened, its replies awaited (a bare disconnect fails commands still in flight).
      await runtime.queues.close();
      await runtime.orderWaiters.close();
      await runtime.redis.quit();
    }
  });
});
