/**
 * Runs once when the Next server starts: validate the configuration now, so
 * a missing or malformed variable stops the web app with one message naming
 * it instead of failing the first request, and start recording each
 * request's TCP peer address, and (in a web cluster) answer the primary's
 * requests for this process's metrics. Skipped while building.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs' || process.env.NEXT_PHASE === 'phase-production-build') return;
  const { loadConfigOrExit } = await import('./server/config');
  loadConfigOrExit();
  const { recordPeerAddresses } = await import('./server/http/peer-address');
  recordPeerAddresses();
  // Under scripts/web-cluster.cjs, a scrape of any process gathers them all.
  const { answerClusterMetricRequests } = await import('./server/metrics/registry');
  answerClusterMetricRequests();
  // The operator console's password exists before the first sign-in (in development: generated and shown).
  const { announceOperatorConsole } = await import('./server/admin/operator-console');
  await announceOperatorConsole();
}
