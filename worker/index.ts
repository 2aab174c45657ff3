/**
 * The worker process: one BullMQ Worker per queue, each a thin adapter over a
 * domain step. Steps are idempotent, so BullMQ's at-least-once delivery (retries,
 * stalled-job recovery after a crash) is safe.
 *
 * Lock and stall settings: a job's lock lasts LOCK_MS and is renewed while the
 * step runs; a worker that dies stops renewing, and within STALLED_INTERVAL_MS
 * after the lock lapses another worker (or this one restarted) takes the job back.
 */
import { UnrecoverableError, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { connectMongo, disconnectMongo, ensureIndexes } from '../prisma-free-models';
import { loadConfigOrExit } from '../src/server/config';
import { isDomainError } from '../src/server/errors';
import { logger } from '../src/server/logger';
import { createStripeClient } from '../src/server/payments/stripe-client';
import { createOrderQueues, QUEUE_NAMES, type QueueName } from '../src/server/queue/queues';
import { finalizationProcessor } from './processors/finalization';
import { paymentProcessor } from './processors/payment';
import { reservationProcessor } from './processors/reservation';
import { webhookEventProcessor } from './processors/webhook-events';

export const LOCK_MS = 30_000;
export const STALLED_INTERVAL_MS = 15_000;

/** Domain errors that no retry can fix are not retried. */
function permanentFailures<T>(processor: Processor<T, unknown>): Processor<T, unknown> {
  return async (job, token): Promise<unknown> => {
    try {
      return (await processor(job, token));
    } catch (err) {
      if (isDomainError(err) && err.code !== 'UNAVAILABLE') throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  await connectMongo(config.MONGODB_URI);
  await ensureIndexes();

  const producer = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(producer, config.QUEUE_PREFIX);
  const deps = { enqueuer: queues.enqueuer, stripe: createStripeClient(config), currency: config.CURRENCY };

  // Workers block on Redis; BullMQ requires maxRetriesPerRequest: null for them.
  const workerConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const start = <T>(name: QueueName, processor: Processor<T, unknown>) => {
    const worker = new Worker<T>(name, permanentFailures(processor), {
      connection: workerConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: 5,
    });
    worker.on('failed', (job, err) =>
      logger.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    worker.on('error', (err) => logger.error({ queue: name, err }, 'worker error'));
    return worker;
  };

  const workers = [
    start(QUEUE_NAMES.reservation, reservationProcessor(deps)),
    start(QUEUE_NAMES.payment, paymentProcessor(deps)),
    start(QUEUE_NAMES.webhookEvents, webhookEventProcessor(deps)),
    start(QUEUE_NAMES.finalization, finalizationProcessor()),
  ];
  logger.info({ queues: Object.values(QUEUE_NAMES), prefix: config.QUEUE_PREFIX }, 'worker started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping: finishing active jobs');
    await Promise.all(workers.map((w) => w.close()));
    await queues.close();
    producer.disconnect();
    workerConnection.disconnect();
    await disconnectMongo();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
