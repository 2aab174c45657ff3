/**
 * The process's one Prometheus registry (prom-client): the default Node
 * metrics plus everything in domain-metrics.ts and system-gauges.ts. Each
 * process (every web process, every worker) exposes its own at its metrics
 * endpoint; Prometheus scrapes each one and sums counters across them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Registry } from 'prom-client';

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
  return { contentType: registry.contentType, body: await registry.metrics() };
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
