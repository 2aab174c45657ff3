/**
 * Queue names, job payloads and job ids. Job ids are derived from the work
 * (`reserve-<orderId>`), so enqueuing the same step twice while the first job
 * is still known to BullMQ is absorbed; the steps themselves are idempotent
 * for the cases BullMQ cannot absorb (a re-enqueue after the job was removed).
 * Payloads carry ids only: no secrets, no prices.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

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

export interface OrderJob {
  orderId: string;
}
export interface WebhookEventJob {
  eventId: string;
}

export const jobIds = {
  reserve: (orderId: string) => `reserve-${orderId}`,
  requestPayment: (orderId: string) => `pay-${orderId}`,
  finalize: (orderId: string) => `finalize-${orderId}`,
  processEvent: (eventId: string) => `event-${eventId}`,
  expire: (orderId: string) => `expire-${orderId}`,
  release: (orderId: string) => `release-${orderId}`,
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

/** What domain code needs from the queues: "make sure this step will run". */
export interface Enqueuer {
  reserve(orderId: string): Promise<void>;
  requestPayment(orderId: string): Promise<void>;
  finalize(orderId: string): Promise<void>;
  processEvent(eventId: string): Promise<void>;
  /** Runs the expiry check for the order at `at` (or at once if that has passed). */
  expireAt(orderId: string, at: Date): Promise<void>;
  /** Finishes the release work of a closed order (holds, PaymentIntent). */
  release(orderId: string): Promise<void>;
}

export interface OrderQueues {
  enqueuer: Enqueuer;
  queues: Record<keyof typeof QUEUE_NAMES, Queue>;
  close(): Promise<void>;
}

export function createOrderQueues(connection: ConnectionOptions, prefix: string): OrderQueues {
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
  const enqueuer: Enqueuer = {
    reserve: async (orderId) => {
      await queues.reservation.add('reserve', { orderId }, { jobId: jobIds.reserve(orderId) });
    },
    requestPayment: async (orderId) => {
      await queues.payment.add('request-payment', { orderId }, { jobId: jobIds.requestPayment(orderId) });
    },
    finalize: async (orderId) => {
      await queues.finalization.add('finalize', { orderId }, { jobId: jobIds.finalize(orderId) });
    },
    processEvent: async (eventId) => {
      await queues.webhookEvents.add('process-event', { eventId }, { jobId: jobIds.processEvent(eventId) });
    },
    expireAt: async (orderId, at) => {
      const delay = Math.max(0, at.getTime() - Date.now());
      await queues.expiry.add('expire', { orderId }, { jobId: jobIds.expire(orderId), delay });
    },
    release: async (orderId) => {
      await queues.release.add('release', { orderId }, { jobId: jobIds.release(orderId) });
    },
  };
  return {
    enqueuer,
    queues,
    close: async () => {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}
