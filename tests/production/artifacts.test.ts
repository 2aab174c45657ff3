/**
 * The production artifacts, run without Docker the way the images run them.
 * CI machines have no Docker engine, so this is where the deployable stack is
 * really run: the web image's standalone server and the worker image's
 * compiled worker, each started with its image's CMD, working directory and
 * ENV (read from docker/Dockerfile by dockerfile.ts), against the suite's
 * Redis and MongoDB, with a payment simulator of their own (the compiled one,
 * as compose's `simulator` profile runs it).
 *
 *   web      .next/standalone copied out of the repository (so a file Next
 *            did not trace cannot be found in the repository's node_modules)
 *            plus docker/healthcheck.js, as the image's COPY lines lay it out
 *   worker   dist/worker/index.js from the repository root, which holds what the
 *            image's /app does (dist/, node_modules, package.json); the build
 *            fails if the worker needs a package that is not a production
 *            dependency, which is what the image installs
 *
 * What differs from the images: APP_ENV=test instead of production (which
 * refuses the simulator), the ports, HOSTNAME=127.0.0.1 (the image binds all
 * interfaces), a reconciler that runs every second, and the proxies below.
 * Each process's environment holds nothing else but PATH.
 *
 * What is checked: a purchase end to end (cart, placeOrder, pay at the
 * simulator, CONFIRMED), the storefront's static assets, the images'
 * HEALTHCHECK commands, and a SIGTERM to each process while it has work in
 * flight, made certain by holding that process's traffic to a dependency (a
 * TCP proxy, holding-proxy.ts): the web server's to Redis, so placeOrder
 * requests are inside the server waiting to enqueue; the worker's to the Stripe
 * API, so payment steps are inside the worker waiting for Stripe. Each must
 * stop taking new work, finish what it holds once the dependency answers, and
 * exit 0; a replacement carries on and every order ends CONFIRMED, the
 * auditor clean.
 *
 * Ports: web TEST_APP_PORT+4, worker HTTP TEST_APP_PORT+6, simulator
 * TEST_SIM_PORT+2. Database `<suite db>_prod`, queue prefix `<suite prefix>_prod`.
 * Logs: .run/test/logs/production/.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectMongo, disconnectMongo, ensureIndexes, Order, type OrderDoc } from '../../prisma-free-models';
import type { OrderView } from '../../src/server/orders/order-view';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { createOrderQueues, type OrderQueues } from '../../src/server/queue/queues';
import { api, customer, env, expectNoViolations, newKey, seedProduct, simControl, stockOf, waitFor } from '../helpers';
import { assertPortFree, ProcessGroup, ROOT, startProcess, waitForHttp, waitForOutput, type Managed } from '../setup/processes';
import { APP_PORT, SIM_PORT, siblingDatabase } from '../setup/test-env';
import { readImageTarget, type ImageTarget } from './dockerfile';
import { startHoldingProxy, type HoldingProxy } from './holding-proxy';

const WEB_PORT = APP_PORT + 4;
const WORKER_HTTP_PORT = APP_PORT + 6;
const PROD_SIM_PORT = SIM_PORT + 2;
const WEB_URL = `http://127.0.0.1:${WEB_PORT}`;
const SIM_URL = `http://127.0.0.1:${PROD_SIM_PORT}`;

// SWITCH: set to true once the worker serves GET /health and /ready on
// WORKER_HTTP_PORT (the observability work): the worker's readiness and its
// image's HEALTHCHECK are then checked over HTTP instead of by process state.
const WORKER_HTTP_ENDPOINTS = false;
// The web image's HEALTHCHECK asks /api/health, then /api/ready; until the
// ready route exists, only its liveness URL is run.
const WEB_READY_ROUTE = existsSync(path.join(ROOT, 'src', 'app', 'api', 'ready', 'route.ts'));

const webImage = readImageTarget('web');
const workerImage = readImageTarget('worker');

const group = new ProcessGroup();
let webDir = '';
let web: Managed;
let worker: Managed;
let redisProxy: HoldingProxy;
let stripeProxy: HoldingProxy;
let queueRedis: Redis;
let queues: OrderQueues;
let appEnv: Record<string, string> = {};
let sku = '';
const orders: { orderId: string; accessToken: string }[] = [];
const sim = simControl(() => SIM_URL);

/** The image's CMD, which must start with `node`, run by this Node. */
function nodeArgs(image: ImageTarget): string[] {
  const [command, ...args] = image.cmd;
  if (command !== 'node') throw new Error(`expected the image to run node, got ${image.cmd.join(' ')}`);
  return args;
}

/**
 * A container's environment and nothing else: the image's ENV, then what compose
 * sets, then this test's ports. (Cast: Node's typing insists on NODE_ENV, which
 * the images set through ENV.)
 */
function processEnv(image: ImageTarget, ...layers: Record<string, string>[]): NodeJS.ProcessEnv {
  return Object.assign({ PATH: process.env.PATH ?? '' }, image.env, ...layers) as NodeJS.ProcessEnv;
}

// Both reach Stripe through the holding proxy; the web app waits 1 s for a PaymentIntent at placement
// (PAYMENT_AT_PLACEMENT_TIMEOUT_MS) before it hands the request to the worker's payment job.
const webEnv = () =>
  processEnv(webImage, appEnv, {
    PORT: String(WEB_PORT),
    HOSTNAME: '127.0.0.1',
    REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
    STRIPE_API_PORT: String(stripeProxy.port),
    PAYMENT_AT_PLACEMENT_TIMEOUT_MS: '1000',
  });
const workerEnv = () => processEnv(workerImage, appEnv, { WORKER_HTTP_PORT: String(WORKER_HTTP_PORT), STRIPE_API_PORT: String(stripeProxy.port) });

/** The web image's /app: the standalone output as built, and the healthcheck script, outside the repository. */
function layOutWebImage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orders-web-image-'));
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    // Node looks for packages in every parent folder: one there would hide a file the standalone output lacks.
    if (existsSync(path.join(d, 'node_modules'))) throw new Error(`${d}/node_modules exists: the standalone copy in ${dir} would not be self-contained`);
    if (d === path.dirname(d)) break;
  }
  cpSync(path.join(ROOT, '.next', 'standalone'), dir, { recursive: true }); // COPY --from=build /app/.next/standalone ./
  for (const f of readdirSync(dir)) if (f.startsWith('.env')) rmSync(path.join(dir, f)); // .dockerignore keeps .env out
  mkdirSync(path.join(dir, 'docker'));
  copyFileSync(path.join(ROOT, 'docker', 'healthcheck.js'), path.join(dir, 'docker', 'healthcheck.js')); // COPY docker/healthcheck.js
  mkdirSync(path.join(dir, '.next', 'cache'), { recursive: true }); // RUN mkdir -p .next/cache
  return dir;
}

function startWeb(label: string): Managed {
  return group.add(startProcess(`production/${label}`, process.execPath, nodeArgs(webImage), webEnv(), webDir));
}

function startWorker(label: string): Managed {
  return group.add(startProcess(`production/${label}`, process.execPath, nodeArgs(workerImage), workerEnv(), ROOT));
}

async function workerReady(w: Managed): Promise<void> {
  if (WORKER_HTTP_ENDPOINTS) await waitForHttp(`http://127.0.0.1:${WORKER_HTTP_PORT}/ready`, 60_000, w);
  else await waitForOutput(w, '"msg":"worker started"', 60_000);
}

/**
 * Runs an image's HEALTHCHECK command in the process's folder and environment, as Docker would
 * inside the container. Not spawnSync: the proxies the checked process talks through live in
 * this process, and must keep forwarding meanwhile.
 */
async function runHealthcheck(image: ImageTarget, cwd: string, environment: NodeJS.ProcessEnv, urls?: number) {
  const [, ...args] = image.healthcheck ?? [];
  const argv = urls === undefined ? args : args.slice(0, 1 + urls);
  const child = spawn(process.execPath, argv, { cwd, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, output: output.trim() };
}

/** Resolves with the error code of a plain TCP connection attempt ('connected' if it was accepted). */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Active jobs (`queue/jobId`) whose current attempt the given worker process took. */
async function jobsHeldBy(w: Managed): Promise<string[]> {
  const name = `${hostname()}:${w.child.pid}`;
  const perQueue = await Promise.all(
    Object.values(queues.queues).map(async (q) => (await q.getActive()).filter((j) => j.processedBy === name).map((j) => `${q.name}/${j.id}`)),
  );
  return perQueue.flat();
}

async function jobState(queueAndId: string): Promise<string> {
  const [queueName, id] = queueAndId.split('/') as [string, string];
  const queue = Object.values(queues.queues).find((q) => q.name === queueName);
  if (!queue) throw new Error(`no queue ${queueName}`);
  return queue.getJobState(id);
}

const payable = (o: OrderView) => (o.state === 'INVENTORY_RESERVED' || o.state === 'PAYMENT_PENDING') && o.payment.paymentIntentId !== null;

async function newCart(): Promise<string> {
  const shop = api(undefined, WEB_URL);
  const { cartId } = await shop.cart.create.mutate();
  await shop.cart.addLine.mutate({ cartId, sku, qty: 1 });
  return cartId;
}

const buyer = (tag: string) => ({ ...customer, email: `${tag}@example.com` });

/** Pays an order once it can be paid and waits for CONFIRMED, through the web server and the simulator. */
async function payAndConfirm(order: { orderId: string; accessToken: string }): Promise<void> {
  const view = () => api(undefined, WEB_URL).orders.get.query({ orderId: order.orderId, accessToken: order.accessToken });
  const ready = await waitFor(`order ${order.orderId} payable`, view, (o) => payable(o) || o.state === 'CONFIRMED', 30_000, 100);
  if (ready.state !== 'CONFIRMED') {
    const intent = await sim.pay(ready.payment.paymentIntentId!);
    expect(intent.status, `payment of ${order.orderId}`).toBe('succeeded');
  }
  await waitFor(`order ${order.orderId} CONFIRMED`, view, (o) => o.state === 'CONFIRMED', 30_000, 100);
}

beforeAll(async () => {
  for (const port of [WEB_PORT, WORKER_HTTP_PORT, PROD_SIM_PORT]) await assertPortFree(port, 'production-artifact test');
  if (!existsSync(path.join(ROOT, '.next', 'standalone', 'server.js')) || !existsSync(path.join(ROOT, 'dist', 'worker', 'index.js'))) {
    throw new Error('production build missing: run `npm run build` (npm test does it)');
  }
  const mongoUri = siblingDatabase(env('MONGODB_URI'), 'prod');
  const prefix = `${env('QUEUE_PREFIX')}_prod`;
  await disconnectMongo();
  await connectMongo(mongoUri);
  await mongoose.connection.dropDatabase();
  await ensureIndexes();

  const redis = new URL(env('REDIS_URL'));
  redisProxy = await startHoldingProxy(redis.hostname, Number(redis.port || 6379));
  stripeProxy = await startHoldingProxy('127.0.0.1', PROD_SIM_PORT);
  queueRedis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
  queues = createOrderQueues(queueRedis, prefix);

  // What docker-compose.yml gives both services (x-app-env), pointed at the test's services.
  appEnv = {
    APP_ENV: 'test',
    MONGODB_URI: mongoUri,
    REDIS_URL: env('REDIS_URL'),
    QUEUE_PREFIX: prefix,
    STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'),
    STRIPE_WEBHOOK_SECRET: env('STRIPE_WEBHOOK_SECRET'),
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(PROD_SIM_PORT),
    STRIPE_API_PROTOCOL: 'http',
    CURRENCY: 'INR',
    LOG_LEVEL: 'info',
    // An order whose enqueue gave up while Redis was held is re-driven within seconds.
    RECONCILE_INTERVAL_MS: '1000',
    STUCK_AFTER_MS: '3000',
  };

  webDir = layOutWebImage();
  const simulator = group.add(
    // As compose's `simulator` service runs it: the worker image, its own command and environment.
    startProcess(
      'production/simulator',
      process.execPath,
      ['--enable-source-maps', 'dist/simulator/main.js'],
      processEnv(workerImage, {
        SERVICE_NAME: 'simulator',
        APP_ENV: 'development',
        SIM_HOST: '127.0.0.1',
        SIM_PORT: String(PROD_SIM_PORT),
        SIM_WEBHOOK_URL: `${WEB_URL}/api/webhooks/stripe`,
        SIM_STATE_FILE: 'off',
        STRIPE_WEBHOOK_SECRET: env('STRIPE_WEBHOOK_SECRET'),
      }),
    ),
  );
  web = startWeb('web-1');
  worker = startWorker('worker-1');
  await Promise.all([waitForHttp(`${SIM_URL}/_sim/health`, 30_000, simulator), waitForHttp(`${WEB_URL}/api/health`, 60_000, web), workerReady(worker)]);
  sku = await seedProduct(50);
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  redisProxy?.release();
  stripeProxy?.release();
  await Promise.all([redisProxy?.close(), stripeProxy?.close()]);
  if (queues) {
    await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await queues.close();
  }
  queueRedis?.disconnect();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
  if (mongoose.connection.readyState === mongoose.ConnectionStates.connected) await mongoose.connection.dropDatabase();
});

// A test that fails while holding a dependency must not leave it held for the next.
afterEach(() => {
  redisProxy?.release();
  stripeProxy?.release();
});

describe('the production artifacts, run as the images run them', () => {
  it('sell end to end: cart, placeOrder, pay at the simulator, CONFIRMED; static assets served; HEALTHCHECKs pass', async () => {
    const cartId = await newCart();
    const placed = await api(newKey(), WEB_URL).checkout.placeOrder.mutate({ cartId, customer: buyer('prod-first') });
    orders.push(placed);
    await payAndConfirm(placed);

    // The storefront's scripts come from .next/static, which the standalone output leaves out unless copied in.
    const html = await (await fetch(`${WEB_URL}/`)).text();
    const script = /\/_next\/static\/[^"]+\.js/.exec(html)?.[0];
    expect(script, 'the storefront references its scripts').toBeDefined();
    expect((await fetch(`${WEB_URL}${script}`)).status).toBe(200);

    const webCheck = await runHealthcheck(webImage, webDir, webEnv(), WEB_READY_ROUTE ? undefined : 1);
    expect(webCheck, 'web image HEALTHCHECK').toEqual({ status: 0, output: expect.stringMatching(/^healthy/) as string });
    if (WORKER_HTTP_ENDPOINTS) expect(await runHealthcheck(workerImage, ROOT, workerEnv()), 'worker image HEALTHCHECK').toEqual({ status: 0, output: expect.stringMatching(/^healthy/) as string });
    else expect(worker.child.exitCode, 'worker alive').toBeNull();
  }, 60_000);

  it('SIGTERM to the web server with requests in flight: it stops accepting, answers every one, exits 0', async () => {
    // No more requests than one web process runs at once (API_MAX_RUNNING_CALLS,
    // 8 by default): the client's pooled connections may all lead to the same
    // process, and a call beyond its admission waits there before reaching Redis.
    const n = 8;
    const carts = await Promise.all(Array.from({ length: n }, () => newCart()));
    const keys = carts.map(() => newKey());

    redisProxy.hold();
    const calls = carts.map((cartId, i) =>
      api(keys[i], WEB_URL)
        .checkout.placeOrder.mutate({ cartId, customer: buyer(`prod-web-${i}`) })
        .then(
          (answer) => ({ answer }),
          (err: unknown) => ({ error: String(err) }),
        ),
    );
    // In flight for certain: each request is waiting on Redis, where its first
    // step (counting the call against its cart's rate limit) names its cart.
    await waitFor('every request waiting on Redis', () => Promise.resolve(carts.filter((c) => redisProxy.heldIncludes(c)).length), (k) => k === n, 30_000, 50);
    expect(await Order.countDocuments({ idempotencyKey: { $in: keys } }), 'no order written before Redis answers').toBe(0);

    const exited = web.exited.then((code) => ({ code, at: Date.now() }));
    web.child.kill('SIGTERM');
    await waitFor('new connections refused', () => connectOutcome(WEB_PORT), (o) => o === 'ECONNREFUSED', 10_000, 50);
    // The requests it holds keep it running: none could finish while Redis is held.
    expect({ exitCode: web.child.exitCode, signal: web.child.signalCode }).toEqual({ exitCode: null, signal: null });

    const releasedAt = Date.now();
    redisProxy.release();
    const results = await Promise.all(calls);
    expect(results.filter((r) => 'error' in r), 'requests in flight at SIGTERM, all answered').toEqual([]);
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at).toBeGreaterThanOrEqual(releasedAt);
    for (const r of results) if ('answer' in r) orders.push(r.answer);

    // A replacement takes over (as a restarting container would); the orders carry on below.
    web = startWeb('web-2');
    await waitForHttp(`${WEB_URL}/api/health`, 60_000, web);
  }, 90_000);

  it('SIGTERM to the worker with jobs in flight: it finishes the jobs it holds, then exits 0; nothing is lost', async () => {
    const n = 8;
    stripeProxy.hold();
    const placed = await Promise.all(
      Array.from({ length: n }, async (_, i) => api(newKey(), WEB_URL).checkout.placeOrder.mutate({ cartId: await newCart(), customer: buyer(`prod-worker-${i}`) })),
    );
    orders.push(...placed);
    expect(placed.map((p) => p.state), 'answered held, the PaymentIntent left to the job').toEqual(placed.map(() => 'INVENTORY_RESERVED'));

    // Stripe held: placeOrder's own request for each PaymentIntent gave up after its 1 s and handed it to the
    // payment job. In flight for certain: the worker holds payment steps, each waiting for Stripe.
    await waitFor('the worker holding payment steps blocked on Stripe', () => jobsHeldBy(worker), (jobs) => jobs.some((j) => j.startsWith('payment/')) && stripeProxy.heldChunks() > 0, 30_000, 50);
    const stopping = waitForOutput(worker, 'worker stopping', 15_000);
    const exited = worker.exited.then((code) => ({ code, at: Date.now() }));
    worker.child.kill('SIGTERM');
    await stopping;
    const held = await jobsHeldBy(worker);
    expect(held.some((j) => j.startsWith('payment/')), `jobs held at SIGTERM: ${held.join(', ')}`).toBe(true);

    const releasedAt = Date.now();
    stripeProxy.release();
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at, 'exited only after the jobs it held could finish').toBeGreaterThanOrEqual(releasedAt);
    // Finished, or handed back for a retry: none left active under a lock nobody renews.
    const states = await Promise.all(held.map(async (j) => `${j}: ${await jobState(j)}`));
    for (const s of states) expect(s).toMatch(/: (completed|waiting|delayed)$/);

    worker = startWorker('worker-2');
    await workerReady(worker);
    // Every order of this file, those placed while the web server stopped included, ends CONFIRMED.
    await Promise.all(orders.map((o) => payAndConfirm(o)));

    const ids = orders.map((o) => o.orderId);
    const docs = await Order.find({ _id: { $in: ids } }, { state: 1 }).lean<OrderDoc[]>();
    expect(docs.map((d) => d.state)).toEqual(ids.map(() => 'CONFIRMED'));
    const product = await stockOf(sku);
    expect({ sold: product.sold, reserved: product.reserved, available: product.available }).toEqual({ sold: ids.length, reserved: 0, available: 50 - ids.length });
    await expectNoViolations({
      orderIds: ids,
      skus: [sku],
      stripe: createStripeClient({ STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'), STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: PROD_SIM_PORT, STRIPE_API_PROTOCOL: 'http' }),
    });
  }, 120_000);
});
