/**
 * Process entry for the payment simulator (`npm run simulator`).
 *
 *   SIM_PORT               default 12200
 *   SIM_HOST               default 127.0.0.1
 *   STRIPE_WEBHOOK_SECRET  required, whsec_...; the same value the app verifies with
 *   SIM_WEBHOOK_URL        default http://127.0.0.1:4000/api/webhooks/stripe
 *   SIM_STATE_FILE         where the state is kept so that a restart loses
 *                          nothing (state-file.ts); default
 *                          .data/payment-simulator/state.json in the
 *                          repository, `off` to keep it in memory only.
 *                          With APP_ENV=test the default is `off`: the test
 *                          suite's simulator starts empty on every run, like
 *                          its in-memory MongoDB.
 *
 * Never runs with APP_ENV=production.
 *
 * Logs one JSON object per line on stdout. A bad variable, or a state file
 * that is damaged or in use by another simulator, stops the process with exit
 * code 1 and one message naming it, before anything listens.
 */
import path from 'node:path';
import { isHttpUrl } from './config';
import { createPaymentSimulator } from './server';
import { StateFileError } from './state-file';
import { stopWhenOrphaned } from '../server/orphan-watch';

const DEFAULT_STATE_FILE = path.resolve(__dirname, '../../.data/payment-simulator/state.json');

const SERVICE = 'payment-simulator';

function logLine(level: 'info' | 'error', msg: string, extra?: object): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: SERVICE, msg, ...extra })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${SERVICE}: ${message}\n`);
  process.exit(1);
}

function readEnv(env: NodeJS.ProcessEnv) {
  // It takes any test key and hands out test-card payments: a shop in production must talk to Stripe.
  if (env.APP_ENV === 'production') fail('refusing to run with APP_ENV=production: the payment simulator is a development and test tool');
  const secret = env.STRIPE_WEBHOOK_SECRET ?? '';
  if (secret === '') fail('STRIPE_WEBHOOK_SECRET is required (the whsec_... secret the app verifies webhooks with)');
  if (!/^whsec_\S+$/.test(secret)) fail('STRIPE_WEBHOOK_SECRET must start with whsec_ followed by the secret, without spaces');

  const rawPort = env.SIM_PORT || '12200';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) fail(`SIM_PORT must be a port number from 0 to 65535, got "${rawPort}"`);

  const host = env.SIM_HOST || '127.0.0.1';
  const webhookUrl = env.SIM_WEBHOOK_URL || 'http://127.0.0.1:4000/api/webhooks/stripe';
  if (!isHttpUrl(webhookUrl)) fail(`SIM_WEBHOOK_URL must be an http(s) URL, got "${webhookUrl}"`);

  const stateSetting = env.SIM_STATE_FILE ?? (env.APP_ENV === 'test' ? 'off' : DEFAULT_STATE_FILE);
  if (stateSetting.trim() === '') fail('SIM_STATE_FILE must be a file path or "off", got an empty value');
  const stateFile = stateSetting === 'off' ? undefined : path.resolve(stateSetting);

  return { secret, port, host, webhookUrl, stateFile };
}

async function main(): Promise<void> {
  const env = readEnv(process.env);
  let sim: ReturnType<typeof createPaymentSimulator>;
  try {
    sim = createPaymentSimulator({
      webhookSecret: env.secret,
      webhookUrl: env.webhookUrl,
      logger: (msg, extra) => logLine('info', msg, extra),
      ...(env.stateFile ? { stateFile: env.stateFile } : {}),
    });
  } catch (err) {
    if (err instanceof StateFileError) fail(err.message);
    throw err;
  }
  if (!env.stateFile) {
    logLine('info', 'state kept in memory only', { because: process.env.SIM_STATE_FILE === undefined ? 'APP_ENV=test' : 'SIM_STATE_FILE=off' });
  }

  try {
    await sim.listen(env.port, env.host);
  } catch (err) {
    logLine('error', 'could not listen', { host: env.host, port: env.port, error: String(err) });
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second Ctrl-C means "now": do not wait for in-flight webhook retries.
      logLine('error', 'forced exit', { signal });
      process.exit(1);
    }
    stopping = true;
    logLine('info', 'shutting down', { signal });
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logLine('error', 'shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  stopWhenOrphaned(stop);
}

void main();
