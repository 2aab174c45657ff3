/**
 * Readiness follows the dependencies. A worker and a web app of this test's
 * own, on a Redis of its own (and a database of its own), are ready; once
 * that Redis is killed both answer 503 naming redis while staying alive (the
 * process answers /health, the worker still serves its metrics); when Redis
 * is back, both are ready again without a restart.
 */
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { afterAll, describe, expect, it } from 'vitest';
import { env, waitFor } from '../helpers';
import { parseMetrics } from '../metrics-scrape';
import { freePort, ProcessGroup, startNextApp, startProcess, startTs, stopProcess, waitForHttp, type Managed } from '../setup/processes';
import { siblingDatabase } from '../setup/test-env';

const group = new ProcessGroup();
const database = siblingDatabase(env('MONGODB_URI'), 'readiness');

afterAll(async () => {
  await group.stopAll();
  await mongoose.connection.useDb(new URL(database).pathname.slice(1)).dropDatabase();
});

async function readiness(url: string): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}

describe('readiness when Redis goes away', () => {
  it('turns 503 naming redis for the worker and the web app, which stay alive, and recovers when Redis is back', async () => {
    const [redisPort, workerPort, webPort] = [await freePort(), await freePort(), await freePort()];
    const startRedis = (): Managed =>
      group.add(
        startProcess('readiness/redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], process.env),
      );
    let redis = startRedis();
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URI: database,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      QUEUE_PREFIX: `ready_${randomBytes(3).toString('hex')}`,
    };
    const worker = group.add(startTs('readiness/worker', 'worker/index.ts', { ...base, WORKER_HTTP_PORT: String(workerPort), SERVICE_NAME: 'worker-readiness' }));
    const web = group.add(startNextApp('readiness/web', webPort, { ...base, SERVICE_NAME: 'web-readiness' }));
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const webUrl = `http://127.0.0.1:${webPort}`;
    await waitForHttp(`${workerUrl}/ready`, 60_000, worker);
    await waitForHttp(`${webUrl}/api/ready`, 60_000, web);

    await stopProcess(redis, 'SIGKILL');
    const notReady = { status: 503, body: { ready: false, failed: ['redis'] } };
    const workerDown = await waitFor('the worker not ready', () => readiness(`${workerUrl}/ready`), (r) => r.status === 503, 30_000);
    expect(workerDown).toMatchObject(notReady);
    expect(workerDown.body).toMatchObject({ checks: { mongodb: 'ok', redis: 'down', workers: 'ok' } });
    const webDown = await waitFor('the web app not ready', () => readiness(`${webUrl}/api/ready`), (r) => r.status === 503, 30_000);
    expect(webDown).toMatchObject({ ...notReady, body: { ...notReady.body, checks: { mongodb: 'ok', redis: 'down' } } });

    expect((await fetch(`${workerUrl}/health`)).status).toBe(200);
    expect((await fetch(`${webUrl}/api/health`)).status).toBe(200);
    // Metrics still answer, and say which source they could not read.
    const metrics = await waitFor(
      'the worker to report its queues unreadable',
      async () => parseMetrics(await (await fetch(`${workerUrl}/metrics`)).text()),
      (m) => m.has('metrics_source_up', { source: 'redis' }) && m.value('metrics_source_up', { source: 'redis' }) === 0,
      30_000,
    );
    expect(metrics.value('metrics_source_up', { source: 'mongodb' })).toBe(1);
    expect(metrics.has('queue_jobs')).toBe(false);

    redis = startRedis(); // the same port, empty: both reconnect by themselves
    await waitFor('the worker ready again', () => readiness(`${workerUrl}/ready`), (r) => r.status === 200, 60_000);
    await waitFor('the web app ready again', () => readiness(`${webUrl}/api/ready`), (r) => r.status === 200, 60_000);
    expect(worker.child.exitCode).toBeNull();
    expect(web.child.exitCode).toBeNull();
  });
});
