/**
 * The worker's own small HTTP server on WORKER_HTTP_PORT, for orchestrators
 * and Prometheus (the worker serves nothing else over HTTP):
 *   GET /health   200 while the process answers (liveness);
 *   GET /ready    200 when MongoDB, Redis and its queue workers are all up,
 *                 else 503 naming the ones that are not (readiness);
 *   GET /metrics  this process's Prometheus metrics (Bearer METRICS_TOKEN when set).
 */
import http from 'node:http';
import type { Readiness } from '../src/server/health/readiness';
import { logger } from '../src/server/logger';
import { renderMetrics, scrapeAllowed } from '../src/server/metrics/registry';

export interface WorkerHttpOptions {
  port: number;
  readiness: () => Promise<Readiness>;
  metricsToken?: string;
}

function send(res: http.ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, opts: WorkerHttpOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, JSON.stringify({ error: 'Method not allowed' }));
  switch (new URL(req.url ?? '/', 'http://worker').pathname) {
    case '/health':
      return send(res, 200, JSON.stringify({ ok: true }));
    case '/ready': {
      const readiness = await opts.readiness();
      return send(res, readiness.ready ? 200 : 503, JSON.stringify(readiness));
    }
    case '/metrics': {
      if (!scrapeAllowed(req.headers.authorization, opts.metricsToken)) return send(res, 401, JSON.stringify({ error: 'Unauthorized' }));
      const { contentType, body } = await renderMetrics();
      return send(res, 200, body, contentType);
    }
    default:
      return send(res, 404, JSON.stringify({ error: 'Not found: /health, /ready and /metrics are served here' }));
  }
}

/** Listens on `port` (every interface, as the web app does); rejects when the port cannot be taken. */
export async function startWorkerHttp(opts: WorkerHttpOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    answer(req, res, opts).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'worker HTTP endpoint failed');
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: 'Internal error' }));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`WORKER_HTTP_PORT ${opts.port}: ${err.message}`)));
    server.listen(opts.port, () => resolve());
  });
  return server;
}
