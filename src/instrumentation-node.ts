/**
 * The web server's start in Node: validate the configuration now, so a
 * missing or malformed variable stops the web app with one message naming it
 * instead of failing the first request, and start recording each request's
 * TCP peer address. Both come before anything heavier is loaded: Next may
 * already serve requests while this finishes.
 */
import { loadConfigOrExit } from './server/config';
import { recordPeerAddresses } from './server/http/peer-address';

export async function registerNode(): Promise<void> {
  loadConfigOrExit();
  recordPeerAddresses();
  // The operator console's password exists before the first sign-in (in development: generated and shown).
  const { announceOperatorConsole } = await import('./server/admin/operator-console');
  await announceOperatorConsole();
}
