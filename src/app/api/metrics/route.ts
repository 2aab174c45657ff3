import { getConfig } from '@/server/config';
import { renderMetrics, scrapeAllowed } from '@/server/metrics/registry';
import { registerSystemGauges } from '@/server/metrics/system-gauges';
import { getRuntime } from '@/server/runtime';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * Prometheus metrics of this web process (each process has its own: scrape
 * every one). Bearer METRICS_TOKEN when configured.
 */
export async function GET(req: Request): Promise<Response> {
  const config = getConfig();
  if (!scrapeAllowed(req.headers.get('authorization'), config.METRICS_TOKEN)) {
    return new Response('Unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
  }
  registerSystemGauges({ database: getRuntime, queues: async () => (await getRuntime()).queues.queues });
  const { contentType, body } = await renderMetrics();
  return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
}
