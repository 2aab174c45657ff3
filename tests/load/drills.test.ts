/**
 * The load suite's failure drills, short: each one a small flash sale
 * (12 buyers, 4 units) through the load driver with one drill fired early in
 * the run, against a system of this file's own: Redis (AOF on) and the
 * MongoDB server (mongo-java-server, H2 file backend, so a restart keeps the
 * data) in a temporary folder, and the simulator, the web app and the worker
 * under the real supervisor (scripts/supervisor.ts), which restarts what a
 * drill kills. Every run must end exact (4 confirmed, nothing charged twice,
 * one order per key), auditor-clean and settled; the dependency drills also
 * prove that readiness turned 503 during the outage and 200 after it.
 * Short timings (reconciler every second, stuck after 2 s, 4 s job locks)
 * keep each run well inside a minute.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disconnectMongo } from '../../prisma-free-models';
import type { DrillAction } from '../../load/lib/drills';
import { pidListeningOn } from '../../load/lib/processes';
import { runScenario, type Target } from '../../load/lib/run-scenario';
import { DEFAULT_BUYER } from '../../load/lib/scenario';
import { flashSaleClosed } from '../../load/scenarios/flash-sale-closed';
import { waitFor } from '../helpers';
import { freePort, ProcessGroup, ROOT, startProcess, waitForHttp, waitForOutput } from '../setup/processes';

const group = new ProcessGroup();
const dataDir = mkdtempSync(path.join(tmpdir(), 'load-drills-'));
let target: Target;
let ports: { redis: number; mongo: number };

/** A port from the environment (a machine that hands out port ranges) or any free one. */
const portFrom = async (name: string) => Number(process.env[name]) || (await freePort());

beforeAll(async () => {
  // The suite's setup connected this file to the suite's database; the driver connects to this system's.
  await disconnectMongo();
  const classpathFile = path.join(ROOT, '.run', 'mongo-classpath.txt');
  if (!existsSync(classpathFile)) throw new Error(`${classpathFile} is missing: run \`bash scripts/services/services.sh up test\` (npm test does)`);
  ports = { redis: await portFrom('TEST_DRILL_REDIS_PORT'), mongo: await portFrom('TEST_DRILL_MONGO_PORT') };
  const [app, sim, worker] = [await freePort(), await freePort(), await freePort()];

  group.add(
    startProcess('drills/redis', 'redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--appendonly', 'yes', '--save', '', '--dir', dataDir, '--maxmemory-policy', 'noeviction'], process.env),
  );
  const mongo = group.add(
    startProcess(
      'drills/mongo',
      'java',
      ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-cp', readFileSync(classpathFile, 'utf8').trim(), 'scripts/mongo-server/MongoLauncher.java', '--port', String(ports.mongo), '--backend', 'h2', '--file', path.join(dataDir, 'orders.mv')],
      process.env,
    ),
  );
  await waitForOutput(mongo, 'MongoLauncher ready', 90_000);
  const redis = new Redis(ports.redis, '127.0.0.1', { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await waitFor('the drills redis', () => redis.ping().catch(() => ''), (p) => p === 'PONG', 30_000);
  redis.disconnect();

  target = {
    appUrl: `http://127.0.0.1:${app}`,
    simUrl: `http://127.0.0.1:${sim}`,
    mongodbUri: `mongodb://127.0.0.1:${ports.mongo}/orders_drills`,
    redisUrl: `redis://127.0.0.1:${ports.redis}`,
    queuePrefix: 'drills',
    workerPort: worker,
  };
  group.add(
    startProcess('drills/supervisor', process.execPath, ['--import', 'tsx', 'scripts/supervisor.ts', 'simulator', 'web', 'worker'], {
      ...process.env,
      MONGODB_URI: target.mongodbUri,
      REDIS_URL: target.redisUrl,
      QUEUE_PREFIX: target.queuePrefix,
      PORT: String(app),
      STRIPE_API_PORT: String(sim),
      WORKER_HTTP_PORT: String(worker),
      WEB_PROCESSES: '1',
      RECONCILE_INTERVAL_MS: '1000',
      STUCK_AFTER_MS: '2000',
      WORKER_LOCK_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '2000',
    }),
  );
  await waitForHttp(`${target.simUrl}/_sim/health`, 60_000);
  await waitForHttp(`${target.appUrl}/api/ready`, 90_000);
  await waitForHttp(`http://127.0.0.1:${worker}/ready`, 90_000);
}, 180_000);

afterAll(async () => {
  await disconnectMongo();
  // More than the supervisor's own grace for its children (10 s): killed before it, it would leave them running.
  await group.stopAll(15_000);
  // A server a drill restarted runs detached from this file's processes: stopped by its port.
  for (const port of [ports.redis, ports.mongo]) {
    const pid = pidListeningOn(port);
    if (pid !== null) process.kill(pid, 'SIGTERM');
  }
  await waitFor('the drill servers stopped', () => Promise.resolve([ports.redis, ports.mongo].map(pidListeningOn)), (pids) => pids.every((p) => p === null), 30_000).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

async function drill(action: DrillAction, atMs: number) {
  const result = await runScenario(
    {
      ...flashSaleClosed(50),
      name: `drill-${action}`,
      units: 4,
      model: { kind: 'closed', buyers: 12, concurrency: 6 },
      buyer: { ...DEFAULT_BUYER, deadlineMs: 60_000 },
      baselineRequests: 0,
      // The machine is shared: correctness only, not issue 8's speed targets.
      thresholds: { buyer_errors: ['count==0'], confirmed: ['value==4'], unsettled_orders: ['value==0'] },
    },
    target,
    { drills: [{ action, atMs, ...(action.startsWith('restart-') ? { downMs: 2_000 } : {}) }], progress: false, log: () => undefined },
  );
  expect(result.checks.filter((c) => !c.ok)).toEqual([]);
  // With the errors the buyers saw, so a failure says what went wrong.
  expect({ thresholds: result.thresholds.filter((t) => !t.ok), errors: result.summary.buyerErrors ? result.errors : {} }).toEqual({ thresholds: [], errors: {} });
  expect(result.auditViolations).toEqual([]);
  expect(result.summary).toMatchObject({ confirmed: 4, sold: 4, available: 0, ordersStored: 12, buyerErrors: 0, unsettledOrders: 0 });
  expect(result.ok).toBe(true);
  const [fired] = result.drills;
  expect(fired?.error).toBeUndefined();
  expect(fired?.backAfterMs).not.toBeNull();
  return { result, fired: fired! };
}

describe('failure drills under load, short', () => {
  it('kill-worker: SIGKILL to the worker mid-sale, the supervisor restarts it', async () => {
    const { fired } = await drill('kill-worker', 1_000);
    expect(fired.pid).toBeGreaterThan(0);
  }, 120_000);

  it('kill-web: SIGKILL to the web app mid-request, buyers retry with their keys', async () => {
    const { fired } = await drill('kill-web', 1_000);
    expect(fired.pid).toBeGreaterThan(0);
  }, 120_000);

  it('restart-redis: readiness 503 while it is down, every order finishes after', async () => {
    const { fired } = await drill('restart-redis', 1_000);
    expect(fired).toMatchObject({ webNotReady: true, workerNotReady: true });
    expect(fired.downForMs).toBeGreaterThanOrEqual(2_000);
  }, 120_000);

  it('flush-redis: every queued job lost, the reconciler re-drives every order', async () => {
    const { fired } = await drill('flush-redis', 500);
    expect(fired.keysFlushed).toBeGreaterThan(0);
  }, 120_000);

  it('restart-mongo: readiness 503 while it is down, the data kept, every order finishes after', async () => {
    const { fired } = await drill('restart-mongo', 1_000);
    expect(fired).toMatchObject({ webNotReady: true, workerNotReady: true });
  }, 180_000);
});
