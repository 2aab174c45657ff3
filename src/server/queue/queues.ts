/**
 * Queue names, job payloads and job ids. Job ids are derived from the work
 * (`reserve-<orderId>`), so enqueuing the same step twice while the first job
 * is still known to BullMQ is absorbed; the steps themselves are idempotent
 * for the cases BullMQ cannot absorb (a re-enqueue after the job was removed).
 * Payloads carry ids only: no secrets, no prices.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { currentRequestId } from '../observability/request-context';
import { within } from '../timeout';

export const QUEUE_NAMES = {
  reservation: 'reservation',
  payment: 'payment',
  webhookEvents: 'webhook-events',
  finalization: 'finalization',
  expiry: 'expiry',
  release: 'release',
  maintenance: 'maintenance',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * Every payload may carry the id of the request that caused it (the worker
 * logs it on every line of the job); it is job data, so it survives retries.
 */
export interface TracedJob {
  requestId?: string;
}
export interface OrderJob extends TracedJob {
  orderId: string;
}
export interface WebhookEventJob extends TracedJob {
  eventId: string;
}

/** The payload with the current request's id, when there is one. */
function withRequestId<T>(data: T): T {
  const requestId = currentRequestId();
  return requestId ? { ...data, requestId } : data;
}

// BullMQ refuses ':' in custom ids (it is its key separator).
const safe = (id: string) => id.replace(/:/g, '_');

export const jobIds = {
  reserve: (orderId: string) => `reserve-${safe(orderId)}`,
  requestPayment: (orderId: string) => `pay-${safe(orderId)}`,
  finalize: (orderId: string) => `finalize-${safe(orderId)}`,
  processEvent: (eventId: string) => `event-${safe(eventId)}`,
  expire: (orderId: string) => `expire-${safe(orderId)}`,
  release: (orderId: string) => `release-${safe(orderId)}`,
};

/** The reconciler's schedule id (a BullMQ job scheduler: one per queue prefix). */
export const RECONCILE_SCHEDULER_ID = 'reconcile';

/** Retries with backoff for transient failures; kept a while so re-enqueues are absorbed. */
export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 24 * 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * `first`: the caller has just created the need for this step (it applied
 * the order's move into the step's state, or stored the event), so no job
 * for it can have finished yet. The job is then added in one round trip,
 * without first looking for a finished one to replace; a twin's job that
 * exists already still absorbs it.
 */
export interface EnqueueOptions {
  first?: boolean;
}

/** What domain code needs from the queues: "make sure this step will run". */
export interface Enqueuer {
  reserve(orderId: string): Promise<void>;
  requestPayment(orderId: string, opts?: EnqueueOptions): Promise<void>;
  finalize(orderId: string): Promise<void>;
  processEvent(eventId: string, opts?: EnqueueOptions): Promise<void>;
  /** Runs the expiry check for the order at `at` (or at once if that has passed). */
  expireAt(orderId: string, at: Date, opts?: EnqueueOptions): Promise<void>;
  /** Finishes the release work of a closed order (holds, PaymentIntent). */
  release(orderId: string): Promise<void>;
}

export interface OrderQueues {
  enqueuer: Enqueuer;
  queues: Record<keyof typeof QUEUE_NAMES, Queue>;
  close(): Promise<void>;
}

/**
 * "Make sure this step will run": a job that is waiting, delayed or running
 * absorbs the request; a job that already finished (completed, or failed
 * after its retries) is replaced, because the caller (a retry, the
 * reconciler) has seen that the work is still not done. Without this, a
 * finished job's id would block the step for as long as BullMQ keeps it.
 */
async function ensureJob<T>(queue: Queue<T>, name: string, data: T, jobId: string, opts: JobsOptions = {}, first = false): Promise<void> {
  const existing = first ? undefined : await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
    // Another caller may have replaced it meanwhile; either way one job results.
    await existing.remove().catch(() => undefined);
  }
  await (queue as Queue).add(name, data, { ...opts, jobId });
}

export function createOrderQueues(
  connection: ConnectionOptions,
  prefix: string,
  opts: { enqueueTimeoutMs?: number } = {},
): OrderQueues {
  // Callers (placeOrder, the webhook route) must answer fast even when Redis
  // is down: the order or event is already durable, and the reconciler or a
  // redelivery enqueues it later.
  const timeoutMs = opts.enqueueTimeoutMs ?? 5_000;
  const make = <T>(name: QueueName) => new Queue<T>(name, { connection, prefix, defaultJobOptions });
  const queues = {
    reservation: make<OrderJob>(QUEUE_NAMES.reservation),
    payment: make<OrderJob>(QUEUE_NAMES.payment),
    webhookEvents: make<WebhookEventJob>(QUEUE_NAMES.webhookEvents),
    finalization: make<OrderJob>(QUEUE_NAMES.finalization),
    expiry: make<OrderJob>(QUEUE_NAMES.expiry),
    release: make<OrderJob>(QUEUE_NAMES.release),
    maintenance: make<Record<string, never>>(QUEUE_NAMES.maintenance),
  };
  // With Redis unreachable BullMQ waits for a connection forever: give up after timeoutMs.
  const ensure = <T>(queue: Queue<T>, name: string, data: T, jobId: string, jobOpts?: JobsOptions, first?: EnqueueOptions) =>
    within(timeoutMs, `enqueue ${jobId}`, ensureJob(queue, name, withRequestId(data), jobId, jobOpts, first?.first));
  const enqueuer: Enqueuer = {
    reserve: (orderId) => ensure(queues.reservation, 'reserve', { orderId }, jobIds.reserve(orderId)),
    requestPayment: (orderId, first) => ensure(queues.payment, 'request-payment', { orderId }, jobIds.requestPayment(orderId), {}, first),
    finalize: (orderId) => ensure(queues.finalization, 'finalize', { orderId }, jobIds.finalize(orderId)),
    processEvent: (eventId, first) => ensure(queues.webhookEvents, 'process-event', { eventId }, jobIds.processEvent(eventId), {}, first),
    expireAt: (orderId, at, first) =>
      ensure(queues.expiry, 'expire', { orderId }, jobIds.expire(orderId), { delay: Math.max(0, at.getTime() - Date.now()) }, first),
    release: (orderId) => ensure(queues.release, 'release', { orderId }, jobIds.release(orderId)),
  };
  return {
    enqueuer,
    queues,
    close: async () => {
      // A queue checks the Redis version on its shared connection when
      // created; closing before that answers lets the caller end the
      // connection under it (rejections nobody awaits). Wait, but not forever.
      const started = Object.values(queues).map((q) => q.waitUntilReady().catch(() => undefined));
      await within(timeoutMs, 'queues start', Promise.all(started)).catch(() => undefined);
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}
