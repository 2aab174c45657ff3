/**
 * The process's one Prometheus registry (prom-client): the default Node
 * metrics plus everything in domain-metrics.ts and system-gauges.ts. Each
 * process (every web app, every worker) exposes its own at its metrics
 * endpoint; Prometheus scrapes each one and sums counters across them. The
 * processes of one web cluster (scripts/web-cluster.cjs) answer together.
 */
import cluster from 'node:cluster';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One value per process under `key`, even if a bundler evaluates this module
 * twice (Next may split route handlers into chunks): two registries would
 * each show half the counts, and a metric registered twice throws.
 */
export function processSingleton<T>(key: string, create: () => T): T {
  const slot = Symbol.for(`resilient-orders.${key}`);
  const globals = globalThis as Record<symbol, unknown>;
  if (!(slot in globals)) globals[slot] = create();
  return globals[slot] as T;
}

export const registry = processSingleton('metrics-registry', () => {
  const created = new Registry();
  collectDefaultMetrics({ register: created });
  return created;
});

/** The exposition for a scrape: Prometheus text format. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  if (cluster.isWorker && process.send) return { contentType: registry.contentType, body: await clusterMetrics() };
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * In a process of a web cluster, answers the primary's requests for this
 * process's registry (prom-client's listener). Called at start-up
 * (src/instrumentation.ts): a process that had not would leave every scrape
 * of the cluster waiting for it.
 */
export function answerClusterMetricRequests(): void {
  if (!cluster.isWorker) return;
  processSingleton('metrics-cluster-listener', () => {
    AggregatorRegistry.setRegistries([registry]);
    return new AggregatorRegistry();
  });
}

/** The messages between a web process and scripts/web-cluster.cjs (its primary). */
const CLUSTER_METRICS_REQ = 'resilient-orders:metrics-req';
const CLUSTER_METRICS_RES = 'resilient-orders:metrics-res';

/**
 * Under scripts/web-cluster.cjs a scrape reaches whichever process accepted
 * the connection; one process's counters alone would jump between scrapes.
 * So the primary gathers every process's registry (prom-client's
 * AggregatorRegistry: counters and histograms summed, each gauge by its
 * `aggregator`) and this process answers with the whole.
 */
function clusterMetrics(): Promise<string> {
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const m = message as { type?: string; id?: string; body?: string; error?: string } | null;
      if (m?.type !== CLUSTER_METRICS_RES || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (typeof m.body === 'string') resolve(m.body);
      else reject(new Error(`the web cluster could not gather the metrics: ${m.error ?? 'no answer'}`));
    };
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the web cluster did not answer with the metrics within 10 s'));
    }, 10_000);
    process.on('message', onMessage);
    process.send?.({ type: CLUSTER_METRICS_REQ, id });
  });
}

/**
 * Whether a scrape may read the metrics: always when no token is configured,
 * else only with `Authorization: Bearer <token>` (the web app's metrics are
 * on its public port; counts of orders and sales are not for everyone).
 */
export function scrapeAllowed(authorization: string | null | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  // Compared as digests in constant time: the answer must not tell how much of a guess was right.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(authorization ?? ''), digest(`Bearer ${token}`));
}
