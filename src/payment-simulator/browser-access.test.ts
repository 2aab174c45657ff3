/**
 * The simulator as the customer's browser reaches it (api.ts): a publishable
 * key may only retrieve and confirm a PaymentIntent, only with its client
 * secret, and sees it without the merchant's fields; the API answers other
 * origins (CORS) and the control API does not. And the simulator refuses to
 * run in production at all.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { orderParams, SECRET, useSimulator } from './test-support';

let stripe: Stripe;
let port: number;

const harness = useSimulator();
beforeAll(() => {
  ({ stripe, port } = harness);
});

const PK = 'pk_test_browser';
const SHOP = 'http://shop.example:4000';

/** A browser-side call: publishable key, form-encoded body, an Origin like every cross-origin fetch. */
async function browserCall(method: 'GET' | 'POST', path: string, params: Record<string, string> = {}) {
  const query = new URLSearchParams(params).toString();
  const res = await fetch(`http://127.0.0.1:${port}${path}${method === 'GET' && query ? `?${query}` : ''}`, {
    method,
    headers: { authorization: `Bearer ${PK}`, origin: SHOP, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(method === 'POST' ? { body: query } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { error?: Record<string, unknown> } };
}

describe('a publishable key', () => {
  it('confirms with the client secret and sees the intent without metadata, charges or amounts received', async () => {
    const pi = await stripe.paymentIntents.create(orderParams('order-pk'));
    const confirmed = await browserCall('POST', `/v1/payment_intents/${pi.id}/confirm`, {
      client_secret: pi.client_secret ?? '',
      payment_method: 'pm_card_visa',
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ id: pi.id, object: 'payment_intent', status: 'succeeded', amount: 2599, currency: 'inr' });
    for (const merchantField of ['metadata', 'latest_charge', 'amount_received', 'customer']) expect(confirmed.body).not.toHaveProperty(merchantField);
    expect(confirmed.headers.get('access-control-allow-origin')).toBe('*');

    const retrieved = await browserCall('GET', `/v1/payment_intents/${pi.id}`, { client_secret: pi.client_secret ?? '' });
    expect(retrieved.body).toMatchObject({ id: pi.id, status: 'succeeded' });
    expect(retrieved.body).not.toHaveProperty('metadata');
    // The server, with its secret key, still sees everything.
    expect((await stripe.paymentIntents.retrieve(pi.id)).metadata.orderId).toBe('order-pk');
  });

  it('gets the declined intent inside the card error without the merchant fields', async () => {
    const pi = await stripe.paymentIntents.create(orderParams());
    const declined = await browserCall('POST', `/v1/payment_intents/${pi.id}/confirm`, {
      client_secret: pi.client_secret ?? '',
      payment_method: 'pm_card_chargeDeclinedInsufficientFunds',
    });
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' });
    const embedded = declined.body.error?.payment_intent as Record<string, unknown>;
    expect(embedded).toMatchObject({ id: pi.id, status: 'requires_payment_method' });
    expect(embedded).not.toHaveProperty('metadata');
  });

  it('needs the right client secret, and may do nothing else', async () => {
    const pi = await stripe.paymentIntents.create(orderParams());
    const missing = await browserCall('POST', `/v1/payment_intents/${pi.id}/confirm`, { payment_method: 'pm_card_visa' });
    expect(missing).toMatchObject({ status: 400, body: { error: { param: 'client_secret', code: 'parameter_missing' } } });
    const wrong = await browserCall('POST', `/v1/payment_intents/${pi.id}/confirm`, {
      client_secret: `${pi.id}_secret_wrong`,
      payment_method: 'pm_card_visa',
    });
    expect(wrong).toMatchObject({ status: 400, body: { error: { param: 'client_secret', code: 'payment_intent_invalid_parameter' } } });
    expect((await browserCall('GET', `/v1/payment_intents/${pi.id}`)).status).toBe(400);

    for (const [method, path] of [
      ['POST', '/v1/payment_intents'],
      ['POST', `/v1/payment_intents/${pi.id}/cancel`],
      ['POST', '/v1/refunds'],
      ['GET', '/v1/events/evt_sim_x'],
    ] as const) {
      const refused = await browserCall(method, path, { amount: '100', currency: 'inr' });
      expect(refused.status, `${method} ${path}`).toBe(401);
      expect(String(refused.body.error?.message)).toMatch(/cannot be made with a publishable API key/);
    }
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_payment_method');

    // The SDK with a publishable key gets Stripe's authentication error too.
    const publishable = new Stripe(PK, { host: '127.0.0.1', port, protocol: 'http' });
    const err = await publishable.paymentIntents.create({ amount: 100, currency: 'inr' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const live = await fetch(`http://127.0.0.1:${port}/v1/payment_intents/${pi.id}`, { headers: { authorization: 'Bearer pk_live_real' } });
    expect(live.status).toBe(401);
  });
});

describe('CORS', () => {
  it('answers a browser preflight for the API, and gives the control API no CORS headers', async () => {
    const preflight = await fetch(`http://127.0.0.1:${port}/v1/payment_intents/pi_sim_x/confirm`, {
      method: 'OPTIONS',
      headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');

    const control = await fetch(`http://127.0.0.1:${port}/_sim/health`, { headers: { origin: SHOP } });
    expect(control.status).toBe(200);
    expect(control.headers.get('access-control-allow-origin')).toBeNull();
    const controlPreflight = await fetch(`http://127.0.0.1:${port}/_sim/config`, { method: 'OPTIONS', headers: { origin: SHOP } });
    expect(controlPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the simulator process', () => {
  it('refuses to start with APP_ENV=production', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, APP_ENV: 'production', SIM_PORT: '0', STRIPE_WEBHOOK_SECRET: SECRET, SIM_STATE_FILE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('refusing to run with APP_ENV=production');
    expect(out).not.toContain('listening');
  }, 30_000);
});
