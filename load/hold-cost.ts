/**
 * The hot SKU: what a hold, a sale and a release of one product cost while
 * that product already carries N holds in flight (and, in a second series, N
 * sale records too, as it does for SALE_RECORD_TTL_MS after a sale of N
 * units). Every hold, sale and release is one conditional update of the one
 * product document, which carries its holds and recent sales; this measures
 * whether that document's size makes those updates dearer.
 *
 * For each N in HOLDS, in a throwaway database next to MONGODB_URI's
 * (dropped at the end), with the stock functions the steps use
 * (src/server/inventory/stock.ts):
 *   1. a product whose holds (and sales) are N synthetic orders' (ids shaped
 *      as real ones);
 *   2. RUNS times, one at a time: hold a new order's line, sell it; hold
 *      another's, release it (four updates);
 *   3. the same with CONCURRENCY loops at once, for the rate one product
 *      sustains;
 * reporting per update the wall time, the database server's CPU (read from
 * /proc of the process listening on MongoDB's port: local servers only) and
 * the document's size before the measured cycles (each cycle leaves one sale
 * record more, so a row ends 2 × RUNS records heavier than it starts).
 *
 * With STRIPES above 1 the product's stock is split over that many documents
 * (src/server/inventory/stripes.ts): the N holds and sales, and the stock,
 * are spread evenly over them, each order's line goes to the stripe its id
 * picks, and the size reported is one stripe's (the product document's).
 *
 *   npx tsx load/hold-cost.ts
 * Settings: MONGODB_URI, HOLDS (0,100,1000,10000), RUNS (100), CONCURRENCY (20), STRIPES (1).
 */
import mongoose from 'mongoose';
import { connectMongo, disconnectMongo, ensureIndexes, Product, StockStripe, stripeDocId } from '../prisma-free-models';
import { orderIdFor } from '../src/server/ids';
import { FIRST_HOLD_REF, releaseLines, reserveLines, sellHeldLine, type StockLine } from '../src/server/inventory/stock';
import { stripeFor } from '../src/server/inventory/stripes';
import { runClosed } from './lib/executor';
import { CpuMeter } from './lib/processes';

const MONGODB_URI = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/orders';
const HOLDS = (process.env.HOLDS ?? '0,100,1000,10000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 100);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 20);
const STRIPES = Number(process.env.STRIPES ?? 1);
const SKU = 'HOLD-COST';
/** Enough stock that no measured hold is refused, whatever N. */
const STOCK = 10_000_000;

interface Row {
  holds: number;
  sales: number;
  docKiB: number;
  serialMs: number;
  serialDbCpuMs: number;
  concurrentPerSecond: number;
  concurrentDbCpuMs: number;
}

function databaseUrl(uri: string): string {
  const url = new URL(uri);
  url.pathname = `/${url.pathname.replace(/^\//, '') || 'orders'}_hold_cost`;
  return url.toString();
}

/** A product carrying `holds` holds and `sales` sale records of synthetic orders, spread over its stripes. */
async function productWith(holds: number, sales: number): Promise<void> {
  await Product.deleteOne({ _id: SKU });
  await StockStripe.deleteMany({ sku: SKU });
  const at = new Date();
  const heldBy = Array.from({ length: holds }, (_, i) => orderIdFor(`held-${i}`, 'hold-cost'));
  const soldTo = Array.from({ length: sales }, (_, i) => orderIdFor(`sold-${i}`, 'hold-cost'));
  for (let k = 0; k < STRIPES; k++) {
    const mine = (ids: string[]) => ids.filter((id) => stripeFor(id, SKU, STRIPES) === k).map((orderId) => ({ orderId, ref: FIRST_HOLD_REF, qty: 1, at }));
    const [h, sd] = [mine(heldBy), mine(soldTo)];
    const stock = { available: Math.floor(STOCK / STRIPES) - h.length - sd.length, reserved: h.length, sold: sd.length, holds: h, sales: sd };
    if (k === 0) {
      await Product.create({ _id: SKU, name: 'Hold cost', priceMinor: 1_000, currency: 'inr', initialStock: STOCK, ...stock, ...(STRIPES > 1 ? { stripes: STRIPES } : {}) });
    } else {
      await StockStripe.create({ _id: stripeDocId(SKU, k), sku: SKU, ...stock });
    }
  }
}

/** The product document's size as BSON, as the server stores and rewrites it. */
async function documentKiB(): Promise<number> {
  const doc = await Product.collection.findOne({ _id: SKU as never });
  return Math.round(mongoose.mongo.BSON.calculateObjectSize(doc ?? {}) / 102.4) / 10;
}

let serial = 0;
/** One cycle: hold and sell one order's line, hold and release another's. Four updates; each must take effect. */
async function cycle(tag: string): Promise<void> {
  const lineOf = (orderId: string): StockLine => ({ sku: SKU, qty: 1, stripe: stripeFor(orderId, SKU, STRIPES) });
  const sold = orderIdFor(`${tag}-${serial++}`, 'hold-cost');
  const released = orderIdFor(`${tag}-${serial++}`, 'hold-cost');
  const a = await reserveLines(sold, FIRST_HOLD_REF, [lineOf(sold)]);
  if (!a.ok || (await sellHeldLine(sold, FIRST_HOLD_REF, lineOf(sold))) === null) throw new Error(`hold or sale of ${sold} did not take effect`);
  const b = await reserveLines(released, FIRST_HOLD_REF, [lineOf(released)]);
  if (!b.ok || (await releaseLines(released, FIRST_HOLD_REF, [lineOf(released)])) !== 1) throw new Error(`hold or release of ${released} did not take effect`);
}

async function measured(dbPort: number, work: () => Promise<void>): Promise<{ ms: number; dbCpuMs: number }> {
  const meter = new CpuMeter([{ role: 'database', port: dbPort }]);
  meter.start(Date.now());
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  meter.sample(Date.now());
  return { ms, dbCpuMs: meter.result()[0]?.cpuMs ?? Number.NaN };
}

async function measure(holds: number, sales: number, dbPort: number): Promise<Row> {
  await productWith(holds, sales);
  for (let i = 0; i < 10; i++) await cycle('warm');
  const docKiB = await documentKiB();
  const one = await measured(dbPort, async () => {
    for (let i = 0; i < RUNS; i++) await cycle('serial');
  });
  const many = await measured(dbPort, () => runClosed(RUNS, CONCURRENCY, () => cycle('concurrent')));
  const updates = RUNS * 4;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    holds,
    sales,
    docKiB,
    serialMs: round(one.ms / updates),
    serialDbCpuMs: round(one.dbCpuMs / updates),
    concurrentPerSecond: Math.round(updates / (many.ms / 1000)),
    concurrentDbCpuMs: round(many.dbCpuMs / updates),
  };
}

async function main(): Promise<void> {
  const uri = databaseUrl(MONGODB_URI);
  await connectMongo(uri);
  await ensureIndexes();
  const dbPort = Number(new URL(MONGODB_URI).port || 27017);
  const rows: Row[] = [];
  try {
    for (const n of HOLDS) {
      for (const sales of n === 0 ? [0] : [0, n]) {
        const row = await measure(n, sales, dbPort);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  } finally {
    await mongoose.connection.dropDatabase().catch(() => undefined);
    await disconnectMongo();
  }
  console.log(`\nstripes: ${STRIPES}`);
  console.log('\n| holds in flight | sale records | document | one at a time: ms per update | database CPU ms per update | ' + `${CONCURRENCY} at once: updates/s | database CPU ms per update |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.holds} | ${r.sales} | ${r.docKiB} KiB | ${r.serialMs} | ${r.serialDbCpuMs} | ${r.concurrentPerSecond} | ${r.concurrentDbCpuMs} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
