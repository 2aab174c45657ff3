/**
 * Gauges of the whole system, read at scrape time rather than counted as
 * things happen: orders by state (from MongoDB, the record) and jobs by queue
 * and state (from BullMQ). Any process can expose them, and every process
 * that does shows the same numbers: aggregate them with max(), not sum().
 *
 * Cost: one aggregation over orders and one getJobCounts per queue, at most
 * once per SNAPSHOT_TTL_MS per process, however often it is scraped. On
 * MongoDB the aggregation reads only the { state, stateChangedAt } index (an
 * index-only scan); the local mongo-java-server ignores non-unique indexes,
 * so there it scans the collection, which the cache keeps to one scan per
 * ten seconds. (Counters maintained on every transition would be cheaper to
 * read but drift from the record after a crash between the write and the
 * count, and start from zero on every restart; the record never drifts.)
 * A source that fails or is slow drops its series and reports
 * metrics_source_up{source} = 0 instead of stalling or failing the scrape.
 */
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { Order } from '../../../prisma-free-models/order';
import { logger } from '../logger';
import { ORDER_STATES, type OrderState } from '../orders/states';
import { within } from '../timeout';
import { processSingleton, registry } from './registry';

export const SNAPSHOT_TTL_MS = 10_000;
/** A scrape waits at most this long for a source (Prometheus' own default timeout is 10 s). */
const SOURCE_TIMEOUT_MS = 3_000;
/** States an order is expected to leave by itself: how long the oldest one has waited is the "stuck" signal. */
const OPEN_STATES: readonly OrderState[] = ['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID'];
const JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export interface SystemGaugeSources {
  /** Resolves once MongoDB is usable (the web app connects on first use). */
  database: () => Promise<unknown>;
  /** The process's own queue handles. */
  queues: () => Promise<Record<string, Queue>>;
}

interface OrderSnapshot {
  counts: Map<string, number>;
  oldest: Map<string, Date>;
}

/**
 * `load` at most once per SNAPSHOT_TTL_MS, one call at a time: a scrape that
 * finds a load running waits for that one (up to the timeout) instead of
 * starting another, so a slow source never piles up work. Undefined when the
 * source failed or timed out; failures are logged when the state changes.
 */
function snapshotOf<T>(source: string, load: () => Promise<T>): () => Promise<T | undefined> {
  let fresh: { at: number; data: T } | undefined;
  let running: Promise<T> | undefined;
  let failing = false;
  const report = (err: unknown) => {
    if (!failing) logger.warn({ source, err }, 'metrics source unavailable');
    failing = true;
  };
  return async () => {
    if (fresh && Date.now() - fresh.at < SNAPSHOT_TTL_MS) return fresh.data;
    running ??= load()
      .then((data) => {
        fresh = { at: Date.now(), data };
        if (failing) logger.info({ source }, 'metrics source available again');
        failing = false;
        return data;
      })
      .finally(() => {
        running = undefined;
      });
    try {
      return await within(SOURCE_TIMEOUT_MS, `metrics source ${source}`, running);
    } catch (err) {
      fresh = undefined;
      report(err);
      return undefined;
    }
  };
}

async function loadOrderSnapshot(sources: SystemGaugeSources): Promise<OrderSnapshot> {
  await sources.database();
  // Matching on state (every state) lets MongoDB answer from the state index alone.
  const rows = await Order.aggregate<{ _id: string; n: number; oldest: Date | null }>([
    { $match: { state: { $in: [...ORDER_STATES] } } },
    { $group: { _id: '$state', n: { $sum: 1 }, oldest: { $min: '$stateChangedAt' } } },
  ]);
  const snapshot: OrderSnapshot = { counts: new Map(), oldest: new Map() };
  for (const row of rows) {
    snapshot.counts.set(row._id, row.n);
    if (row.oldest) snapshot.oldest.set(row._id, new Date(row.oldest));
  }
  return snapshot;
}

async function loadQueueCounts(sources: SystemGaugeSources): Promise<Map<string, Record<string, number>>> {
  const queues = Object.values(await sources.queues());
  const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
  return new Map(queues.map((q, i) => [q.name, counts[i] ?? {}]));
}

/** Registers the system gauges in this process's registry; later calls do nothing. */
export function registerSystemGauges(sources: SystemGaugeSources): void {
  processSingleton('system-gauges', () => {
    const orders = snapshotOf('mongodb', () => loadOrderSnapshot(sources));
    const jobs = snapshotOf('redis', () => loadQueueCounts(sources));
    const registers = [registry];
    new Gauge({
      name: 'orders_in_state',
      // The same reading in every process of a web cluster (registry.ts).
      aggregator: 'max',
      help: `Orders in each state, read from MongoDB at scrape time (cached ${SNAPSHOT_TTL_MS / 1000} s); the same from every process: aggregate with max()`,
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const snapshot = await orders();
        this.reset();
        if (snapshot) for (const state of ORDER_STATES) this.set({ state }, snapshot.counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'orders_oldest_in_state_seconds',
      // The same reading in every process of a web cluster (registry.ts).
      aggregator: 'max',
      help: 'How long the oldest order in each open state (CREATED, INVENTORY_RESERVED, PAYMENT_PENDING, PAID) has been there; 0 when none is',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const snapshot = await orders();
        this.reset();
        if (!snapshot) return;
        const now = Date.now();
        for (const state of OPEN_STATES) {
          const oldest = snapshot.oldest.get(state);
          this.set({ state }, oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0);
        }
      },
    });
    new Gauge({
      name: 'queue_jobs',
      // The same reading in every process of a web cluster (registry.ts).
      aggregator: 'max',
      help: 'BullMQ jobs per queue and state (waiting, active, delayed, failed), read at scrape time; the same from every process: aggregate with max()',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const counts = await jobs();
        this.reset();
        if (!counts) return;
        for (const [queue, byState] of counts) {
          for (const state of JOB_STATES) this.set({ queue, state }, byState[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'metrics_source_up',
      aggregator: 'min',
      help: 'Whether the last scrape could read a source of the system gauges: mongodb (orders_in_state) and redis (queue_jobs)',
      labelNames: ['source'] as const,
      registers,
      async collect() {
        const [o, j] = await Promise.all([orders(), jobs()]);
        this.set({ source: 'mongodb' }, o ? 1 : 0);
        this.set({ source: 'redis' }, j ? 1 : 0);
      },
    });
    return true;
  });
}
