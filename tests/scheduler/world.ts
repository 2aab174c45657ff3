/**
 * The world the scheduler's scenarios run in: a database of their own (so the
 * suite's worker and reconciler never touch their orders), BullMQ queues
 * under a prefix no worker consumes, and a payment simulator of their own
 * (real HTTP; no webhook deliveries, the scenarios decide which events are
 * processed). The Stripe client's every request is a scheduling point.
 *
 * After the scheduled steps, `settle` lets the system converge the way it
 * does in production: it runs the jobs the steps enqueued and retries the
 * steps that failed with a retryable error (as BullMQ would), through the
 * worker's own processors, and runs reconciler passes, until nothing is left.
 */
import type { Processor } from 'bullmq';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import Stripe from 'stripe';
import { Cart, connectMongo, CustomerSlots, disconnectMongo, ensureIndexes, MaintenanceMark, OpenEvent, OpenOrder, Order, Product, WebhookEvent } from '../../prisma-free-models';
import type { Deps } from '../../src/server/deps';
import type { Enqueuer } from '../../src/server/queue/queues';
import { isDomainError } from '../../src/server/errors';
import { reconcile } from '../../src/server/orders/reconcile';
import { createOrderQueues, jobIds, QUEUE_NAMES, type OrderQueues, type QueueName } from '../../src/server/queue/queues';
import { createPaymentSimulator, type PaymentSimulator } from '../../src/payment-simulator/server';
import { processorsByQueue } from '../../worker/processors';
import { env, suiteOrderLimits } from '../helpers';
import { answerLostHttpClient, gatedHttpClient } from './scheduler';

export const WORLD_WEBHOOK_SECRET = 'whsec_scheduler_world';
const KEY_TTL_MS = 24 * 3600_000;

/** A job the steps enqueued: where, with what, under which id, due when. */
interface Enqueued extends JobRef {
  jobId: string;
  dueAt: number;
}

export interface World {
  deps: Deps;
  /** What the steps enqueued since the last reset or settle (the jobs are also really in Redis). */
  enqueued: Enqueued[];
  /** Jobs a scenario declared lost (as after a Redis flush): in Redis, but never run by `settle`. */
  lost: Enqueued[];
  /** The same, with holdTimeMs 0: reservations made through it are overdue at once. */
  expiringDeps: Deps;
  queues: OrderQueues;
  processors: Record<QueueName, Processor<never, unknown>>;
  sim: PaymentSimulator;
  /** A Stripe client for fixtures and the auditor (not a scheduling point either way outside tasks). */
  stripe: Stripe;
  /**
   * A client of the same simulator whose every request reaches it (a
   * scheduling point, as above) and whose answer is then lost: a call that
   * timed out after Stripe acted on it.
   */
  stripeAnswerLost: Stripe;
  close(): Promise<void>;
}

export interface JobRef {
  queue: QueueName;
  data: Record<string, string>;
}

export async function openWorld(): Promise<World> {
  const uri = new URL(env('MONGODB_URI'));
  uri.pathname = `${uri.pathname}_sched`;
  await disconnectMongo();
  await connectMongo(uri.toString());
  await ensureIndexes();

  const sim = createPaymentSimulator({ webhookSecret: WORLD_WEBHOOK_SECRET });
  const { port } = await sim.listen(0);
  const stripeAt = (httpClient?: Stripe.HttpClient) =>
    new Stripe('sk_test_scheduler_world', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 2, ...(httpClient ? { httpClient } : {}) });
  const stripe = stripeAt(gatedHttpClient());

  const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(redis, `sched_${process.pid}`);
  const enqueued: Enqueued[] = [];
  const deps: Deps = { enqueuer: recording(queues.enqueuer, enqueued), stripe, currency: 'inr', holdTimeMs: 15 * 60_000, orderLimits: suiteOrderLimits };
  return {
    deps,
    enqueued,
    lost: [],
    expiringDeps: { ...deps, holdTimeMs: 0 },
    queues,
    processors: processorsByQueue(deps, {
      STUCK_AFTER_MS: 0,
      IDEMPOTENCY_KEY_TTL_MS: KEY_TTL_MS,
      SALE_RECORD_TTL_MS: 30 * 60_000,
      CART_RETENTION_MS: 7 * 24 * 3600_000,
      WEBHOOK_EVENT_RETENTION_MS: 30 * 24 * 3600_000,
      HOUSEKEEPING_INTERVAL_MS: 3600_000,
    }),
    sim,
    stripe,
    stripeAnswerLost: stripeAt(answerLostHttpClient()),
    async close() {
      await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true })));
      await queues.close();
      redis.disconnect();
      await sim.close();
      await mongoose.connection.dropDatabase();
    },
  };
}

/**
 * The real enqueuer (jobs really go to Redis, with its absorb-or-replace
 * rules), also recording each request, so settling knows what to run
 * without scanning the queues.
 */
function recording(real: Enqueuer, log: Enqueued[]): Enqueuer {
  const rec = (queue: QueueName, data: Record<string, string>, jobId: string, dueAt = 0): void => {
    log.push({ queue, data, jobId, dueAt });
  };
  return {
    reserve: async (orderId) => (await real.reserve(orderId), rec('reservation', { orderId }, jobIds.reserve(orderId))),
    requestPayment: async (orderId, opts) => (await real.requestPayment(orderId, opts), rec('payment', { orderId }, jobIds.requestPayment(orderId))),
    finalize: async (orderId) => (await real.finalize(orderId), rec('finalization', { orderId }, jobIds.finalize(orderId))),
    processEvent: async (eventId, opts) => (await real.processEvent(eventId, opts), rec('webhook-events', { eventId }, jobIds.processEvent(eventId))),
    expireAt: async (orderId, at, opts) => (await real.expireAt(orderId, at, opts), rec('expiry', { orderId }, jobIds.expire(orderId), at.getTime())),
    release: async (orderId) => (await real.release(orderId), rec('release', { orderId }, jobIds.release(orderId))),
  };
}

const queueOf = (world: World, name: QueueName) => {
  const key = (Object.keys(QUEUE_NAMES) as (keyof typeof QUEUE_NAMES)[]).find((k) => QUEUE_NAMES[k] === name);
  return world.queues.queues[key as keyof typeof QUEUE_NAMES];
};

/** Takes the jobs that are due out of Redis (as a worker would), deduplicated by job id, oldest first. */
async function takeDueJobs(world: World): Promise<JobRef[]> {
  const now = Date.now();
  const due = new Map<string, Enqueued>();
  const later: Enqueued[] = [];
  for (const e of world.enqueued.splice(0)) {
    if (e.dueAt > now) later.push(e);
    else if (!due.has(e.jobId)) due.set(e.jobId, e);
  }
  world.enqueued.push(...later);
  for (const e of due.values()) await queueOf(world, e.queue).remove(e.jobId);
  return [...due.values()];
}

/** Empties the world between schedules, so each starts from its own fixtures only. */
export async function resetWorld(world: World): Promise<void> {
  await Promise.all(
    [Order, Product, WebhookEvent, Cart, CustomerSlots, OpenOrder, OpenEvent, MaintenanceMark].map((model: { deleteMany(f: object): PromiseLike<unknown> }) => model.deleteMany({})),
  );
  for (const e of [...world.enqueued.splice(0), ...world.lost.splice(0)]) await queueOf(world, e.queue).remove(e.jobId);
  world.sim.reset();
}

/** BullMQ's view of a failure: domain errors other than UNAVAILABLE are permanent (worker/permanent-failures.ts). */
const retryable = (err: unknown) => !isDomainError(err) || err.code === 'UNAVAILABLE';

const ATTEMPTS = 8;

export interface SettleReport {
  jobsRun: number;
  gaveUp: string[];
}

/**
 * Runs what the steps left behind until nothing is due: queued jobs, retries
 * of failed steps (at most ATTEMPTS each, like BullMQ), reconciler passes
 * (stuck after 0 ms, so it re-drives everything at once).
 */
export async function settle(world: World, failed: readonly JobRef[], maxRounds = 8): Promise<SettleReport> {
  const attempts = new Map<string, number>();
  const keyOf = (j: JobRef) => `${j.queue} ${JSON.stringify(j.data)}`;
  const gaveUp = new Set<string>();
  let retry = [...failed];
  for (const j of failed) attempts.set(keyOf(j), 1);
  let jobsRun = 0;
  const runOne = async (j: JobRef): Promise<void> => {
    const key = keyOf(j);
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    jobsRun++;
    try {
      await world.processors[j.queue]({ data: j.data } as never, undefined);
    } catch (err) {
      if (retryable(err) && n < ATTEMPTS) retry.push(j);
      else gaveUp.add(`${key}: ${(err as Error).message}`);
    }
  };
  const reconcileFailures: string[] = [];
  for (let round = 0; round < maxRounds; round++) {
    for (let inner = 0; inner < 50; inner++) {
      const jobs = await takeDueJobs(world);
      const again = retry;
      retry = [];
      if (jobs.length === 0 && again.length === 0) break;
      for (const j of [...jobs, ...again]) await runOne(j);
    }
    try {
      // A moment ahead, so work written in this very millisecond counts as stuck too.
      await reconcile(world.deps, { stuckAfterMs: 0, idempotencyKeyTtlMs: KEY_TTL_MS, now: new Date(Date.now() + 1_000) });
    } catch (err) {
      reconcileFailures.push(`reconciler pass failed: ${(err as Error).message}`);
    }
    const pending = world.enqueued.some((e) => e.dueAt <= Date.now());
    if (!pending && retry.length === 0) break;
  }
  return { jobsRun, gaveUp: [...gaveUp, ...reconcileFailures] };
}
