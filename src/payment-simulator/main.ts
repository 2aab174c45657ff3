/**
 * Process entry for the payment simulator (`npm run simulator`).
 *
 *   SIM_PORT               default 12200
 *   SIM_HOST               default 127.0.0.1
 *   STRIPE_WEBHOOK_SECRET  required, whsec_...; the same value the app verifies with
 *   SIM_WEBHOOK_URL        default http://127.0.0.1:4000/api/webhooks/stripe
 *
 * Logs one JSON object per line on stdout. A bad variable stops the process
 * with exit code 1 and one message naming it, before anything listens.
 */
import { isHttpUrl } from './config';
import { createPaymentSimulator } from './server';

const SERVICE = 'payment-simulator';

function logLine(level: 'info' | 'error', msg: string, extra?: object): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service: SERVICE, msg, ...extra })}\n`);
}

function fail(message: string): never {
  process.stderr.write(`${SERVICE}: ${message}\n`);
  process.exit(1);
}

function readEnv(env: NodeJS.ProcessEnv) {
  const secret = env.STRIPE_WEBHOOK_SECRET ?? '';
  if (secret === '') fail('STRIPE_WEBHOOK_SECRET is required (the whsec_... secret the app verifies webhooks with)');
  if (!/^whsec_\S+$/.test(secret)) fail('STRIPE_WEBHOOK_SECRET must start with whsec_ followed by the secret, without spaces');

  const rawPort = env.SIM_PORT || '12200';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) fail(`SIM_PORT must be a port number from 0 to 65535, got "${rawPort}"`);

  const host = env.SIM_HOST || '127.0.0.1';
  const webhookUrl = env.SIM_WEBHOOK_URL || 'http://127.0.0.1:4000/api/webhooks/stripe';
  if (!isHttpUrl(webhookUrl)) fail(`SIM_WEBHOOK_URL must be an http(s) URL, got "${webhookUrl}"`);

  return { secret, port, host, webhookUrl };
}

async function main(): Promise<void> {
  const env = readEnv(process.env);
  const sim = createPaymentSimulator({
    webhookSecret: env.secret,
    webhookUrl: env.webhookUrl,
    logger: (msg, extra) => logLine('info', msg, extra),
  });

  try {
    await sim.listen(env.port, env.host);
  } catch (err) {
    logLine('error', 'could not listen', { host: env.host, port: env.port, error: String(err) });
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
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
}

void main();
