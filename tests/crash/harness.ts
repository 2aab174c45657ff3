/**
 * Crash-test harness: dedicated worker processes under a queue prefix of the
 * test's own (the suite's worker never sees these jobs), domain deps that
 * enqueue under that prefix, and the end-state checks every crash test makes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type Stripe from 'stripe';
import { expect } from 'vitest';
import { Order, type OrderDoc } from '../../prisma-free-models';
import type { CrashPoint } from '../../src/server/crash-points';
import type { Deps } from '../../src/server/deps';
import { isLegalHistory } from '../../src/server/orders/state-machine';
import { HOLDING_STATES, type OrderState } from '../../src/server/orders/states';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { createOrderQueues, type OrderQueues } from '../../src/server/queue/queues';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { LOG_DIR, ROOT, startTs, stopProcess, type Managed } from '../setup/processes';
import { asList, env, signedEvent, sim, stockOf, suiteOrderLimits } from '../helpers';

// ---------------------------------------------------------------- deps

export interface PrefixedDeps {
  prefix: string;
  deps: Deps;
  queues: OrderQueues;
  close: () => Promise<void>;
}

export const newPrefix = (kind = 'crash') => `${kind}_${randomBytes(5).toString('hex')}`;

export function stripeClient(): Stripe {
  return createStripeClient({
    STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'),
    STRIPE_API_HOST: env('STRIPE_API_HOST'),
    STRIPE_API_PORT: Number(env('STRIPE_API_PORT')),
    STRIPE_API_PROTOCOL: 'http',
  });
}

/** Like manualDeps() in tests/helpers.ts, but under a prefix the test chooses (and its worker consumes). */
export function prefixedDeps(prefix: string, holdTimeMs = 15 * 60_000): PrefixedDeps {
  const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(redis, prefix);
  let closed = false;
  return {
    prefix,
    deps: { enqueuer: queues.enqueuer, stripe: stripeClient(), currency: 'inr', holdTimeMs, orderLimits: suiteOrderLimits },
    queues,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
      await queues.close();
      redis.disconnect();
    },
  };
}

// ---------------------------------------------------------------- workers

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CrashWorker {
  name: string;
  managed: Managed;
  /** Resolves when the worker logged "worker started"; rejects if it exits first. */
  ready: Promise<void>;
  exit: Promise<WorkerExit>;
  startedAt: number;
}

export interface WorkerOptions {
  prefix: string;
  crashAt?: CrashPoint;
  onceFile?: string;
  holdTimeMs?: number;
  extraEnv?: Record<string, string>;
}

const running = new Set<CrashWorker>();
let counter = 0;

/** Starts `node --import tsx worker/index.ts` with the suite's env, our prefix and short lock / stall settings. */
export function startWorker(opts: WorkerOptions): CrashWorker {
  mkdirSync(path.join(LOG_DIR, 'crash'), { recursive: true });
  const name = `crash/${opts.prefix}-${++counter}${opts.crashAt ? `-${opts.crashAt.replace(/:/g, '_')}` : ''}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    QUEUE_PREFIX: opts.prefix,
    WORKER_LOCK_MS: '1000',
    WORKER_STALLED_INTERVAL_MS: '500',
    LOG_LEVEL: 'info',
    SERVICE_NAME: `worker-${opts.prefix}`,
    // The worker's reconciler scans the whole database: with the default
    // threshold it would re-drive other tests' old orders under our prefix
    // (and into our crash point). Recovery here must come from BullMQ's
    // stalled-job check alone; a test that wants the reconciler says so.
    STUCK_AFTER_MS: String(24 * 3600_000),
    ...(opts.holdTimeMs ? { HOLD_TIME_MS: String(opts.holdTimeMs) } : {}),
    ...opts.extraEnv,
  };
  delete childEnv.CRASH_AT;
  delete childEnv.CRASH_ONCE_FILE;
  if (opts.crashAt) childEnv.CRASH_AT = opts.crashAt;
  if (opts.onceFile) childEnv.CRASH_ONCE_FILE = opts.onceFile;

  const managed = startTs(name, 'worker/index.ts', childEnv);
  const exit = new Promise<WorkerExit>((resolve) => managed.child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (seen.includes('"msg":"worker started"')) {
        managed.child.stdout?.off('data', onData);
        resolve();
      }
    };
    managed.child.stdout?.on('data', onData);
    void exit.then((e) => reject(new Error(`worker ${name} exited before it was ready (${JSON.stringify(e)}); see ${LOG_DIR}/${name}.log`)));
  });
  ready.catch(() => undefined); // observed by whoever awaits it
  const worker: CrashWorker = { name, managed, ready, exit, startedAt: Date.now() };
  running.add(worker);
  void exit.then(() => running.delete(worker));
  return worker;
}

export async function startReadyWorker(opts: WorkerOptions, timeoutMs = 20_000): Promise<CrashWorker> {
  const w = startWorker(opts);
  await withTimeout(w.ready, timeoutMs, `worker ${w.name} to start`);
  return w;
}

/** SIGTERM, then SIGKILL after a grace period: every worker this file started. */
export async function stopAllWorkers(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((w) => stopProcess(w.managed, 'SIGTERM', graceMs)));
  running.clear();
}

export async function killWorker(w: CrashWorker): Promise<WorkerExit> {
  w.managed.child.kill('SIGKILL');
  return withTimeout(w.exit, 10_000, `worker ${w.name} to die after SIGKILL`);
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function onceFilePath(prefix: string): string {
  const file = path.join(tmpdir(), `crash-once-${prefix}`);
  rmSync(file, { force: true });
  return file;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls faster than waitFor (for races against a 1 s hold time). */
export async function pollFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(everyMs);
    last = await probe();
  }
  return last;
}

// ---------------------------------------------------------------- payments

interface SimIntent {
  id: string;
  status: string;
  metadata: Record<string, string>;
}

export async function intentsOf(orderId: string): Promise<SimIntent[]> {
  return asList<SimIntent>(await sim.intentsFor(orderId));
}

interface SimRecord {
  id: string;
  type: string;
  event: { id: string; type: string; data: { object: { id: string; payment_intent?: string | null; amount?: number } } };
}

/** Refunds the simulator created for a PaymentIntent (from its refund.created events). */
export async function refundsOf(paymentIntentId: string): Promise<{ id: string; amount?: number }[]> {
  const records = asList<SimRecord>(await sim.call('GET', '/_sim/events?type=refund.created'));
  return records.filter((r) => r.event.data.object.payment_intent === paymentIntentId).map((r) => r.event.data.object);
}

/** Webhook intake as the route does it, but enqueuing under our prefix. */
export async function deliverEvent(deps: Deps, event: unknown): Promise<void> {
  const { body, signature } = signedEvent(deps, event);
  const intake = await receiveStripeWebhook(body, signature, { ...deps, webhookSecret: env('STRIPE_WEBHOOK_SECRET') });
  expect(intake.status, `webhook intake: ${JSON.stringify(intake.body)}`).toBe(200);
}

// ---------------------------------------------------------------- end-state checks

export async function ordersById(ids: string[]): Promise<Map<string, OrderDoc>> {
  const docs = await Order.find({ _id: { $in: ids } }).lean<OrderDoc[]>();
  return new Map(docs.map((d) => [d._id, d]));
}

/**
 * Stock conservation for every SKU, holds only for live orders, and every
 * live order of ours holding each of its lines exactly once under its holdRef.
 */
export async function expectStockConserved(skus: string[], orderIds: string[] = []): Promise<void> {
  for (const sku of skus) {
    const p = await stockOf(sku);
    expect(p.available + p.reserved + p.sold, `${sku}: initialStock = available + reserved + sold (${JSON.stringify(p)})`).toBe(p.initialStock);
    expect(p.reserved, `${sku}: reserved = Σ holds (${JSON.stringify(p.holds)})`).toBe(p.holds.reduce((s, h) => s + h.qty, 0));
    expect(p.available, `${sku}: available >= 0`).toBeGreaterThanOrEqual(0);
    const holders = await ordersById(p.holds.map((h) => h.orderId));
    for (const h of p.holds) {
      const o = holders.get(h.orderId);
      expect(o && HOLDING_STATES.has(o.state), `${sku}: hold ${JSON.stringify(h)} belongs to a live order (order is ${o?.state ?? 'missing'})`).toBe(true);
      expect(h.ref, `${sku}: hold of ${h.orderId} is under the order's holdRef`).toBe(o?.holdRef);
    }
    const perOrder = new Map<string, number>();
    for (const h of p.holds) perOrder.set(h.orderId, (perOrder.get(h.orderId) ?? 0) + 1);
    for (const [orderId, n] of perOrder) expect(n, `${sku}: one hold per order (${orderId})`).toBe(1);
  }
  const orders = await ordersById(orderIds);
  for (const id of orderIds) {
    const o = orders.get(id);
    expect(o, `order ${id} exists`).toBeTruthy();
    if (!o) continue;
    for (const line of o.lines) {
      if (!skus.includes(line.sku)) continue;
      const holds = (await stockOf(line.sku)).holds.filter((h) => h.orderId === id);
      if (HOLDING_STATES.has(o.state)) {
        expect(holds, `${o.state} order ${id} holds ${line.qty} of ${line.sku} under ${o.holdRef}`).toEqual([
          expect.objectContaining({ orderId: id, ref: o.holdRef, qty: line.qty }),
        ]);
      } else {
        expect(holds, `${o.state} order ${id} holds nothing of ${line.sku}`).toEqual([]);
      }
    }
  }
}

export async function expectLegalHistories(orderIds: string[]): Promise<Map<string, OrderDoc>> {
  const orders = await ordersById(orderIds);
  for (const id of orderIds) {
    const o = orders.get(id);
    expect(o, `order ${id} exists`).toBeTruthy();
    if (!o) continue;
    const path = o.history.map((h) => `${h.from ?? '∅'}→${h.to}`).join(' ');
    expect(isLegalHistory(o.history, o.state), `order ${id} history is a legal path ending in ${o.state}: ${path}`).toBe(true);
  }
  return orders;
}

export async function expectOneIntent(orderId: string, expectedStatus?: string | string[]): Promise<SimIntent> {
  const intents = await intentsOf(orderId);
  expect(intents.map((i) => `${i.id}:${i.status}`), `exactly one PaymentIntent for order ${orderId}`).toHaveLength(1);
  const [intent] = intents as [SimIntent];
  const order = await Order.findById(orderId).lean<OrderDoc>();
  if (order?.paymentIntentId) expect(order.paymentIntentId, 'the order records the PaymentIntent the simulator has').toBe(intent.id);
  if (expectedStatus) {
    const allowed = Array.isArray(expectedStatus) ? expectedStatus : [expectedStatus];
    expect(allowed, `PaymentIntent ${intent.id} of order ${orderId} is ${intent.status}`).toContain(intent.status);
  }
  return intent;
}

export async function expectNoPendingWork(orderId: string): Promise<void> {
  const o = await Order.findById(orderId).lean<OrderDoc>();
  expect(o?.pendingRelease, `order ${orderId}: pendingRelease cleared`).toBeUndefined();
  expect(o?.pendingIntentCancel, `order ${orderId}: pendingIntentCancel cleared`).toBeUndefined();
}

// ---------------------------------------------------------------- the invariant auditor, when it exists

interface AuditModule {
  auditInvariants?: (opts: { stuckAfterMs: number; orderIds?: string[]; skus?: string[]; stripe?: Stripe }) => Promise<{ violations: unknown[] }>;
}

const AUDIT_PATH = path.join(ROOT, 'src', 'server', 'audit', 'invariants.ts');
let auditRuns = 0;
/** How many times this file's tests ran the auditor (0 while it does not exist). */
export const auditorRuns = () => auditRuns;

/** Runs src/server/audit/invariants.ts on our orders and SKUs if another engineer has added it; returns whether it ran. */
export async function auditIfAvailable(orderIds: string[], skus: string[]): Promise<boolean> {
  if (!existsSync(AUDIT_PATH)) return false;
  const mod = (await import(/* @vite-ignore */ AUDIT_PATH)) as AuditModule;
  if (typeof mod.auditInvariants !== 'function') return false;
  const report = await mod.auditInvariants({ stuckAfterMs: 60_000, orderIds, skus, stripe: stripeClient() });
  expect(report.violations, `invariant auditor on orders ${orderIds.join(', ')} / SKUs ${skus.join(', ')}`).toEqual([]);
  auditRuns++;
  return true;
}

export type { OrderState };
