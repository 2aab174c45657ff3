/**
 * Flat cost as the data grows: what one reconciler pass and one maintenance
 * pass cost with nothing stored, and with PREFILL (100,000) settled historical
 * orders stored, in wall time and in CPU of the MongoDB server process.
 *
 * In a throwaway database next to MONGODB_URI's (dropped at the end), with
 * queues under a throwaway prefix on REDIS_URL (obliterated at the end):
 *   1. a few in-flight orders (IN_FLIGHT CREATED orders, listed as placeOrder
 *      lists them, idle past STUCK_AFTER_MS), so each pass has real work;
 *   2. measure: a reconciler pass (what every RECONCILE_INTERVAL_MS costs),
 *      a maintenance pass (backfill check, reconciler; the housekeeping
 *      searches are not due), each RUNS times, means reported;
 *   3. insert PREFILL CONFIRMED orders (insertMany, in batches), then the
 *      one-time backfill pass over them, then measure again as in 2;
 *   4. at both sizes, the hot path's shapes: a transition's conditional update
 *      (by _id and state), a read by _id and a read by another unique key;
 *   5. for reference, at both sizes: the database server idle for 1 s, and
 *      the searches the reconciler made every pass before the open-work
 *      lists; at PREFILL, the hourly housekeeping pass (idempotency keys,
 *      carts, events; once per HOUSEKEEPING_INTERVAL_MS).
 * The database server's CPU is read from /proc/<pid>/stat of the process
 * listening on the MongoDB port (local servers only: mongo-java-server here).
 *
 *   npx tsx load/prefill-scan-cost.ts
 * Settings: MONGODB_URI, REDIS_URL, PREFILL (100000), IN_FLIGHT (20), RUNS (50),
 * HOT_RUNS (2000, for the single operations of step 4).
 * Run it against a database server of its own (it holds PREFILL orders while it runs).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import Stripe from 'stripe';
import { connectMongo, disconnectMongo, ensureIndexes, MaintenanceMark, Order, WebhookEvent } from '../prisma-free-models';
import { orderIdFor } from '../src/server/ids';
import { openOrderEntry } from '../src/server/open-work/open-orders';
import { reconcile } from '../src/server/orders/reconcile';
import { createOrderQueues } from '../src/server/queue/queues';
import { maintenanceProcessor } from '../worker/processors/maintenance';

const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/orders';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFILL = Number(process.env.PREFILL ?? 100_000);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 20);
const RUNS = Number(process.env.RUNS ?? 50);
/** The hot path's single operations cost well under a clock tick each: many more runs. */
const HOT_RUNS = Number(process.env.HOT_RUNS ?? 2000);
const STUCK_AFTER_MS = 60_000;
const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** The pid of the process listening on `port` (IPv4 or IPv6), from /proc. */
function listenerPid(port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] && inodes.has(m[1])) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S; // utime, stime (fields 14, 15)
}

interface Cost {
  wallMs: number;
  dbCpuMs: number;
}

async function measure(dbPid: number, work: () => Promise<unknown>): Promise<Cost> {
  const cpu0 = cpuMs(dbPid);
  const t0 = performance.now();
  await work();
  return { wallMs: performance.now() - t0, dbCpuMs: cpuMs(dbPid) - cpu0 };
}

/**
 * The mean of RUNS runs, after a few unmeasured ones (the server's JIT warms
 * up, or the first rows would be the dearest): CPU is counted in 10 ms ticks,
 * so one run of a cheap pass is mostly rounding.
 */
async function meanCost(dbPid: number, work: () => Promise<unknown>, runs = RUNS): Promise<Cost> {
  for (let i = 0; i < 5; i++) await work();
  const total = await measure(dbPid, async () => {
    for (let i = 0; i < runs; i++) await work();
  });
  return { wallMs: total.wallMs / runs, dbCpuMs: total.dbCpuMs / runs };
}

/** What the old reconciler asked MongoDB every pass: a search of the orders per state, the closed orders, the events, the key purge. */
async function oldReconcilerSearches(now = new Date()): Promise<void> {
  const stuckBefore = new Date(now.getTime() - STUCK_AFTER_MS);
  const fields = { lines: 0, history: 0 };
  for (const state of ['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID'] as const) {
    await Order.find({ state, stateChangedAt: { $lt: stuckBefore } }, fields).limit(500).lean();
  }
  await Order.find(
    { stateChangedAt: { $lt: stuckBefore }, $or: [{ pendingRelease: { $exists: true } }, { pendingIntentCancel: { $exists: true } }, { lateDecision: { $exists: true }, state: { $in: ['CANCELLED', 'EXPIRED'] } }] },
    fields,
  )
    .limit(500)
    .lean();
  await WebhookEvent.find({ processedAt: { $exists: false }, receivedAt: { $lt: stuckBefore } }, { _id: 1 }).limit(500).lean();
  await Order.updateMany({ idempotencyKey: { $exists: true }, createdAt: { $lt: new Date(now.getTime() - 24 * 3600_000) } }, { $unset: { idempotencyKey: 1 } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const customer = { name: 'Asha Rao', email: 'asha@example.com', address: { line1: '12 MG Road', city: 'Bengaluru', state: 'KA', postalCode: '560001', country: 'IN' } };
const line = { sku: 'BENCH-MUG', name: 'Mug', unitPriceMinor: 50_000, qty: 1, lineTotalMinor: 50_000 };

const benchKey = (state: 'CREATED' | 'CONFIRMED', i: number) => `bench-${state}-${i}`;
const benchOrderId = (state: 'CREATED' | 'CONFIRMED', i: number) => orderIdFor(benchKey(state, i), 'bench');

function orderDoc(i: number, state: 'CREATED' | 'CONFIRMED', at: Date): Record<string, unknown> {
  const key = benchKey(state, i);
  const history =
    state === 'CREATED'
      ? [{ from: null, to: 'CREATED', action: 'place-order', outcome: 'applied', at }]
      : ['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED'].map((to, n, all) => ({ from: all[n - 1] ?? null, to, action: 'step', outcome: 'applied', at }));
  return {
    _id: benchOrderId(state, i),
    accessToken: `tok-${i}`,
    requestHash: 'bench',
    ...(state === 'CREATED' ? { idempotencyKey: key } : {}),
    state,
    stateChangedAt: at,
    lines: [line],
    currency: 'inr',
    totalMinor: 50_000,
    customer,
    holdRef: 'r1',
    ...(state === 'CONFIRMED' ? { paymentIntentId: `pi_bench_${i}`, payment: { amountReceived: 50_000, currency: 'inr' }, sold: [{ sku: line.sku, qty: 1, at }] } : {}),
    history,
    createdAt: at,
    updatedAt: at,
  };
}

async function main(): Promise<void> {
  const uri = new URL(MONGODB_URI);
  const dbPid = listenerPid(Number(uri.port || 27017));
  if (!dbPid) throw new Error(`no local process listens on port ${uri.port || 27017}: this benchmark reads the database server's CPU from /proc`);
  uri.pathname = `${uri.pathname}_scancost_${process.pid}`;
  await connectMongo(uri.toString());
  await ensureIndexes();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(redis, `scancost_${process.pid}`);
  // No Stripe call is made: the in-flight orders are CREATED (the reconciler only re-enqueues them).
  const deps = { enqueuer: queues.enqueuer, stripe: new Stripe('sk_test_scancost'), currency: 'inr', holdTimeMs: 900_000, orderLimits: { maxQtyPerSku: 5, maxLines: 20, maxUnpaidOrdersPerCustomer: 3 } };
  const config = {
    STUCK_AFTER_MS,
    IDEMPOTENCY_KEY_TTL_MS: 24 * 3600_000,
    SALE_RECORD_TTL_MS: 30 * 60_000,
    CART_RETENTION_MS: 7 * 24 * 3600_000,
    WEBHOOK_EVENT_RETENTION_MS: 30 * 24 * 3600_000,
    HOUSEKEEPING_INTERVAL_MS: 3600_000,
  };
  const maintenance = maintenanceProcessor(deps, config);
  const reconcilerPass = () => reconcile(deps, { stuckAfterMs: STUCK_AFTER_MS, idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS, purgeKeys: false });
  const rows: [string, Cost][] = [];
  try {
    const stuckAt = new Date(Date.now() - 10 * 60_000);
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) => orderDoc(i, 'CREATED', stuckAt));
    for (const o of inFlight) await openOrderEntry(o._id as string);
    await Order.insertMany(inFlight, { lean: true });
    await maintenance(); // the first pass: backfill finds nothing to list, housekeeping runs and is then not due for an hour

    // The hot path's shapes: a transition's conditional update (_id and state, as the state
    // machine writes it), a read by _id and a read by another unique key (as placeOrder looks up
    // an Idempotency-Key, or an event its PaymentIntent). Each must cost the same at any size.
    // The reads go to a different stored order each time, as the hot path's do: the same key
    // every time would find its way through the index's pages already guessed.
    const probeId = inFlight[0]?._id as string;
    let stored = IN_FLIGHT;
    let probe = 0;
    const nextProbe = () => (probe = (probe * 7919 + 1) % stored);
    const storedId = (i: number) => (i < IN_FLIGHT ? (inFlight[i]?._id as string) : benchOrderId('CONFIRMED', i - IN_FLIGHT));
    const transitionShaped = () => Order.findOneAndUpdate({ _id: probeId, state: 'CREATED' }, { $set: { stateChangedAt: stuckAt } }, { returnDocument: 'after' }).lean();
    const readById = () => Order.findById(storedId(nextProbe())).lean();
    const readByUniqueKey = () => Order.findOne({ paymentIntentId: `pi_bench_${nextProbe()}` }, { _id: 1 }).lean();
    const hotPath = async (label: string) => {
      rows.push([`${label}: conditional update by _id and state`, await meanCost(dbPid, transitionShaped, HOT_RUNS)]);
      rows.push([`${label}: read by _id`, await meanCost(dbPid, readById, HOT_RUNS)]);
      rows.push([`${label}: read by a unique key (paymentIntentId)`, await meanCost(dbPid, readByUniqueKey, HOT_RUNS)]);
    };

    await hotPath('empty');
    rows.push(['empty: idle (1 s, nothing asked)', await measure(dbPid, () => sleep(1000))]);
    rows.push(['empty: old reconciler searches', await meanCost(dbPid, () => oldReconcilerSearches())]);
    rows.push(['empty: reconciler pass', await meanCost(dbPid, reconcilerPass)]);
    rows.push(['empty: maintenance pass', await meanCost(dbPid, maintenance)]);

    const historicAt = new Date(Date.now() - 90 * 24 * 3600_000);
    const fillStarted = performance.now();
    for (let from = 0; from < PREFILL; from += 1000) {
      await Order.insertMany(Array.from({ length: Math.min(1000, PREFILL - from) }, (_, i) => orderDoc(from + i, 'CONFIRMED', historicAt)), { lean: true });
    }
    process.stderr.write(`[scan-cost] ${PREFILL} settled orders inserted in ${Math.round(performance.now() - fillStarted)} ms\n`);

    stored = IN_FLIGHT + PREFILL;
    // As after an upgrade: the one-time backfill searches them once.
    await MaintenanceMark.deleteOne({ _id: 'open-orders-backfill' });
    rows.push([`${PREFILL}: one-time backfill pass`, await measure(dbPid, maintenance)]);
    await hotPath(`${PREFILL}`);
    rows.push([`${PREFILL}: idle (1 s, nothing asked)`, await measure(dbPid, () => sleep(1000))]);
    rows.push([`${PREFILL}: old reconciler searches`, await meanCost(dbPid, () => oldReconcilerSearches())]);
    rows.push([`${PREFILL}: reconciler pass`, await meanCost(dbPid, reconcilerPass)]);
    rows.push([`${PREFILL}: maintenance pass`, await meanCost(dbPid, maintenance)]);
    await MaintenanceMark.deleteOne({ _id: 'housekeeping' });
    rows.push([`${PREFILL}: maintenance pass with housekeeping (hourly)`, await measure(dbPid, maintenance)]);
  } finally {
    await Promise.all(Object.values(queues.queues).map((q) => q.obliterate({ force: true })));
    await queues.close();
    redis.disconnect();
    await mongoose.connection.dropDatabase();
    await disconnectMongo();
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(`database server pid ${dbPid}; means of ${RUNS} runs (${HOT_RUNS} for single operations), except one-time and idle rows\n`);
  for (const [name, c] of rows) process.stdout.write(`${name.padEnd(width)}  wall ${c.wallMs.toFixed(2).padStart(9)} ms  db cpu ${c.dbCpuMs.toFixed(2).padStart(8)} ms\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
