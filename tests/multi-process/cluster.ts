/**
 * A small deployment of the order system for one test, as production runs
 * it: several web processes (the standalone server of the production build) and
 * several workers sharing one database and one queue prefix, with a payment
 * simulator of its own. A round-robin front (what a load balancer does)
 * spreads the simulator's webhook deliveries over the web processes, so two
 * copies of one event can land on two processes at once.
 *
 * Everything is the test's own (database, queue prefix, ports, simulator):
 * the suite's app and worker never see this traffic, and this cluster never
 * sees theirs. stop() ends every process still running and empties the
 * queues; the database is the caller's to drop.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createOrderQueues, QUEUE_NAMES, type OrderQueues } from '../../src/server/queue/queues';
import { env } from '../helpers';
import { assertPortFree, ProcessGroup, startNextApp, startTs, waitForHttp, waitForOutput, type Managed } from '../setup/processes';

export interface ClusterOptions {
  /** Names the log files: .run/test/logs/multi/<name>-<process>.log */
  name: string;
  mongoUri: string;
  queuePrefix: string;
  webPorts: number[];
  workers: number;
  simPort: number;
  /** The webhook front's port. */
  frontPort: number;
  /** Extra environment for the web processes and workers (lock, stall and reconciler settings). */
  env?: Record<string, string>;
}

export interface Cluster {
  webUrls: string[];
  simUrl: string;
  workers: Managed[];
  front: WebhookFront;
  /** Queues under the cluster's prefix, for counting jobs (not for enqueuing: the web processes do that). */
  queues: OrderQueues;
  /** Jobs (`queue/jobId`) BullMQ's stalled-job check took back from a dead worker. */
  stalled: string[];
  stop(): Promise<void>;
}

export interface WebhookFront {
  url: string;
  /** Deliveries forwarded to each target, in the order of the targets. */
  forwarded: number[];
  close(): Promise<void>;
}

/** Forwards each request to the next target in turn, bytes untouched (the signature covers the raw body). */
async function startWebhookFront(port: number, targets: number[]): Promise<WebhookFront> {
  const forwarded = targets.map(() => 0);
  let next = 0;
  const server = http.createServer((req, res) => {
    const i = next++ % targets.length;
    forwarded[i] = (forwarded[i] ?? 0) + 1;
    const upstream = http.request({ host: '127.0.0.1', port: targets[i], method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // A dead target answers 502, and the simulator retries as Stripe would.
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(err.message);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Records BullMQ "stalled" events: each is a job whose worker stopped renewing its lock, moved back to waiting. */
function watchStalls(redisUrl: string, prefix: string): { stalled: string[]; close: () => Promise<void> } {
  const stalled: string[] = [];
  const watchers = Object.values(QUEUE_NAMES).map((name) => {
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const events = new QueueEvents(name, { connection, prefix });
    events.on('stalled', ({ jobId }) => stalled.push(`${name}/${jobId}`));
    return { events, connection };
  });
  return {
    stalled,
    close: async () => {
      await Promise.all(watchers.map((w) => w.events.close()));
      for (const w of watchers) w.connection.disconnect();
    },
  };
}

/** Active jobs (`queue/jobId`) whose current attempt the named worker process took (BullMQ's processedBy). */
async function jobsHeldBy(queues: OrderQueues, workerName: string): Promise<string[]> {
  const perQueue = await Promise.all(
    Object.values(queues.queues).map(async (q) => (await q.getActive()).filter((j) => j.processedBy === workerName).map((j) => `${q.name}/${j.id}`)),
  );
  return perQueue.flat();
}

/**
 * SIGKILLs a worker while it holds jobs, so the kill lands mid-step: polls
 * the active jobs until one of an order's steps is the worker's, freezes it
 * (SIGSTOP) so it cannot finish them, checks again and kills it, or lets it
 * go on (SIGCONT) and keeps polling. After `timeoutMs` without catching it
 * busy, kills it anyway. Resolves, once it is dead, with the jobs it died
 * holding (none after the fallback).
 */
export async function killHoldingJobs(worker: Managed, queues: OrderQueues, timeoutMs: number): Promise<string[]> {
  const name = workerNameOf(worker);
  // An order's step, not (only) the reconciler's periodic pass.
  const holdsAStep = (jobs: string[]) => jobs.some((j) => !j.startsWith(`${QUEUE_NAMES.maintenance}/`));
  const deadline = Date.now() + timeoutMs;
  let held: string[] = [];
  while (Date.now() < deadline) {
    if (holdsAStep(await jobsHeldBy(queues, name))) {
      worker.child.kill('SIGSTOP');
      // Let a command it sent just before (completing a job) reach Redis first.
      await new Promise((r) => setTimeout(r, 50));
      held = await jobsHeldBy(queues, name);
      if (holdsAStep(held)) break;
      held = [];
      worker.child.kill('SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  worker.child.kill('SIGKILL');
  await worker.exited;
  return held;
}

/** The name worker/index.ts gives its BullMQ workers. */
const workerNameOf = (worker: Managed) => `${hostname()}:${worker.child.pid}`;

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  for (const port of [...opts.webPorts, opts.simPort, opts.frontPort]) await assertPortFree(port, `multi-process test (${opts.name})`);
  const group = new ProcessGroup();
  const redisUrl = env('REDIS_URL');
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(producer, opts.queuePrefix);
  const stalls = watchStalls(redisUrl, opts.queuePrefix);
  let front: WebhookFront | undefined;

  const stop = async () => {
    await group.stopAll();
    await front?.close();
    await stalls.close();
    // Leave nothing behind on the shared Redis: every queue under our prefix, the reconciler's schedule included.
    await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await queues.close();
    producer.disconnect();
  };

  try {
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URI: opts.mongoUri,
      QUEUE_PREFIX: opts.queuePrefix,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(opts.simPort),
      STRIPE_API_PROTOCOL: 'http',
      ...opts.env,
    };
    delete base.CRASH_AT;
    delete base.CRASH_ONCE_FILE;
    const log = (what: string) => `multi/${opts.name}-${what}`;

    front = await startWebhookFront(opts.frontPort, opts.webPorts);
    const simUrl = `http://127.0.0.1:${opts.simPort}`;
    const sim = group.add(
      startTs(log('simulator'), 'src/payment-simulator/main.ts', {
        ...base,
        SIM_PORT: String(opts.simPort),
        SIM_WEBHOOK_URL: `${front.url}/api/webhooks/stripe`,
      }),
    );
    const webs = opts.webPorts.map((port, i) =>
      group.add(startNextApp(log(`web-${i + 1}`), port, { ...base, PORT: String(port), SERVICE_NAME: `web-${i + 1}` })),
    );
    const workers = Array.from({ length: opts.workers }, (_, i) =>
      group.add(startTs(log(`worker-${i + 1}`), 'worker/index.ts', { ...base, SERVICE_NAME: `worker-${i + 1}` })),
    );
    const webUrls = opts.webPorts.map((port) => `http://127.0.0.1:${port}`);
    await Promise.all([
      waitForHttp(`${simUrl}/_sim/health`, 30_000, sim),
      ...webs.map((web, i) => waitForHttp(`${webUrls[i]}/api/ready`, 60_000, web)),
      ...workers.map((w) => waitForOutput(w, '"msg":"worker started"', 60_000)),
    ]);
    return { webUrls, simUrl, workers, front, queues, stalled: stalls.stalled, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
