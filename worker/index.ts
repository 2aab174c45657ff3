/**
 * The worker process: one BullMQ Worker per queue, each a thin adapter over a
 * domain step. Steps are idempotent, so BullMQ's at-least-once delivery (retries,
 * stalled-job recovery after a crash) is safe.
 *
 * Lock and stall settings (WORKER_LOCK_MS, default 30 s; WORKER_STALLED_INTERVAL_MS,
 * default 15 s): a job's lock is renewed every half lock while its step runs. A
 * worker killed mid-step stops renewing; once the lock lapses, the next
 * stalled-job check of any live worker (this one restarted included) moves the
 * job back to waiting and it runs again from the top, which the steps allow.
 * So a killed job resumes within lock + stalled interval (≤ 45 s by default).
 * maxStalledCount 5: a job that keeps killing its worker fails after 5 tries
 * instead of looping forever; the reconciler still re-drives its order.
 *
 * The reconciler runs as a BullMQ job scheduler (every RECONCILE_INTERVAL_MS).
 * The worker re-registers the scheduler on the same period, so a Redis that
 * lost all its data gets it back without a restart.
 *
 * Health, readiness and metrics are served on WORKER_HTTP_PORT (see
 * http-server.ts); each job runs in its request's context (job-context.ts).
 */
import { hostname } from 'node:os';
import { Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { connectMongo, disconnectMongo, ensureIndexes } from '../prisma-free-models';
import { orderLimitsFrom } from '../src/server/abuse/order-caps';
import { loadConfigOrExit } from '../src/server/config';
import { pingMongo } from '../src/server/health/dependency-checks';
import { stopWhenOrphaned } from '../src/server/orphan-watch';
import { checkReadiness } from '../src/server/health/readiness';
import { logger } from '../src/server/logger';
import { registerSystemGauges } from '../src/server/metrics/system-gauges';
import { redisOrderChangePublisher } from '../src/server/orders/order-changes';
import { announceTransitionsWith } from '../src/server/orders/state-machine';
import { createStripeClient } from '../src/server/payments/stripe-client';
import { createOrderQueues, QUEUE_NAMES, RECONCILE_SCHEDULER_ID, type QueueName } from '../src/server/queue/queues';
import { startWorkerHttp } from './http-server';
import { inJobContext } from './job-context';
import { permanentFailures } from './permanent-failures';
import { processorsByQueue } from './processors';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  await connectMongo(config.MONGODB_URI);
  await ensureIndexes();

  const producer = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(producer, config.QUEUE_PREFIX);
  const deps = {
    enqueuer: queues.enqueuer,
    stripe: createStripeClient(config),
    currency: config.CURRENCY,
    holdTimeMs: config.HOLD_TIME_MS,
    orderLimits: orderLimitsFrom(config),
    orderChanges: redisOrderChangePublisher(producer),
  };
  // Callers waiting in the web app (orders.waitForChange) hear of each transition at once.
  announceTransitionsWith(deps.orderChanges);

  // Names this process in BullMQ (a job's `processedBy`, Queue.getWorkers()), so
  // one can tell which process holds a job, e.g. one that died holding it.
  const workerName = `${hostname()}:${process.pid}`;
  // Workers block on Redis; BullMQ requires maxRetriesPerRequest: null for them.
  const workerConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const start = <T>(name: QueueName, processor: Processor<T, unknown>) => {
    const worker = new Worker<T>(name, inJobContext(name, permanentFailures(processor)), {
      name: workerName,
      connection: workerConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: 5,
    });
    worker.on('failed', (job, err) => {
      const { requestId, orderId, eventId } = (job?.data ?? {}) as { requestId?: string; orderId?: string; eventId?: string };
      logger.warn({ queue: name, jobId: job?.id, requestId, orderId, eventId, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    worker.on('error', (err) => logger.error({ queue: name, err }, 'worker error'));
    return worker;
  };

  const workers = Object.entries(processorsByQueue(deps, config)).map(([name, processor]) => start(name as QueueName, processor));
  let watchdog: NodeJS.Timeout | undefined;

  // Graceful stop (docker stop, a rolling deploy): take no new job, let the active
  // ones finish (they may enqueue their next step, so the producer closes last),
  // then exit 0. Handled from the moment the Workers exist, since they may take
  // jobs at once. Whatever a SIGKILL cuts off later (the grace period ran out)
  // comes back through the stalled-job check.
  let stopping = false;
  let endpoints: Awaited<ReturnType<typeof startWorkerHttp>> | undefined = undefined;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping: finishing active jobs');
    try {
      clearInterval(watchdog);
      await Promise.all(workers.map((w) => w.close()));
      // Liveness answers until the jobs are finished; readiness said no from the start of the stop.
      await new Promise((resolve) => (endpoints ? endpoints.close(resolve) : resolve(undefined)));
      await queues.close();
      producer.disconnect();
      workerConnection.disconnect();
      await disconnectMongo();
    } catch (err) {
      logger.error({ err }, 'worker stop failed; active jobs come back through the stalled-job check');
      process.exit(1);
    }
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  stopWhenOrphaned((reason) => void stop(reason));

  const scheduleReconciler = () =>
    queues.queues.maintenance
      .upsertJobScheduler(RECONCILE_SCHEDULER_ID, { every: config.RECONCILE_INTERVAL_MS }, { name: 'reconcile', opts: { removeOnComplete: 100, removeOnFail: 100 } })
      .catch((err: unknown) => logger.error({ err }, 'could not schedule the reconciler'));
  await scheduleReconciler();
  if (!stopping) watchdog = setInterval(() => void scheduleReconciler(), config.RECONCILE_INTERVAL_MS);

  registerSystemGauges({ database: () => Promise.resolve(), queues: () => Promise.resolve(queues.queues) });
  endpoints =
    config.WORKER_HTTP_PORT === 0
      ? undefined
      : await startWorkerHttp({
          port: config.WORKER_HTTP_PORT,
          metricsToken: config.METRICS_TOKEN,
          readiness: () =>
            checkReadiness({
              mongodb: pingMongo,
              // The producer's ping (what the steps enqueue with) and the
              // connection the workers take jobs over: either one down and no job moves.
              redis: async () => {
                await producer.ping();
                if (workerConnection.status !== 'ready') throw new Error(`worker connection is ${workerConnection.status}`);
              },
              workers: () => {
                if (stopping) throw new Error('stopping');
                const idle = workers.filter((w) => !w.isRunning()).map((w) => w.name);
                if (idle.length > 0) throw new Error(`not running: ${idle.join(', ')}`);
                return Promise.resolve();
              },
            }),
        });
  logger.info({ queues: Object.values(QUEUE_NAMES), prefix: config.QUEUE_PREFIX, httpPort: config.WORKER_HTTP_PORT || 'off' }, 'worker started');
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
});
