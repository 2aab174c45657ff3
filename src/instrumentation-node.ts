/**
 * The web server's start in Node: validate the configuration now, so a
 * missing or malformed variable stops the web app with one message naming it
 * instead of failing the first request, and start recording each request's
 * TCP peer address, (in a web cluster) answer the primary's requests for
 * this process's metrics, and offer the hot API paths in front of Next's
 * router (server/http/fast-path.ts). The first two come before anything
 * heavier is loaded: Next may already serve requests while this finishes.
 */
import { loadConfigOrExit } from './server/config';
import { recordPeerAddresses } from './server/http/peer-address';

export async function registerNode(): Promise<void> {
  loadConfigOrExit();
  recordPeerAddresses();
  // Under scripts/web-cluster.cjs, a scrape of any process gathers them all.
  const { answerClusterMetricRequests } = await import('./server/metrics/registry');
  answerClusterMetricRequests();
  // The operator console's password exists before the first sign-in (in development: generated and shown).
  const { announceOperatorConsole } = await import('./server/admin/operator-console');
  await announceOperatorConsole();
  // From here on scripts/web-process.cjs answers /api/trpc and the webhook without Next's router.
  const { installApiFastPath } = await import('./server/http/fast-path');
  installApiFastPath();
}
