/**
 * What the simulator's tests share: the app's webhook endpoint in miniature
 * (verifying every delivery with the stripe SDK's own constructEvent),
 * polling helpers, and the PaymentIntent parameters an order sends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { createPaymentSimulator, type PaymentSimulator } from './server';

export const SECRET = 'whsec_simulator_test_secret_0123456789';

export interface Delivery {
  raw: string;
  signature: string;
  /** Set when constructEvent accepted the delivery. */
  event?: Stripe.Event;
  /** Set when constructEvent refused it. */
  verifyError?: string;
  receivedAt: number;
}

/** The app's webhook endpoint in miniature: verify with the real SDK, answer 400 if forged. */
export class WebhookReceiver {
  deliveries: Delivery[] = [];
  /** Status to answer a verified delivery with; `n` counts verified deliveries from 1. */
  respond: (n: number, d: Delivery) => number = () => 200;
  url = '';
  private verifiedCount = 0;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['stripe-signature'] ?? '');
      const delivery: Delivery = { raw, signature, receivedAt: Date.now() };
      try {
        delivery.event = Stripe.webhooks.constructEvent(raw, signature, SECRET);
      } catch (err) {
        delivery.verifyError = err instanceof Error ? err.message : String(err);
      }
      this.deliveries.push(delivery);
      const status = delivery.event ? this.respond(++this.verifiedCount, delivery) : 400;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ received: true }));
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.deliveries = [];
    this.verifiedCount = 0;
    this.respond = () => 200;
  }

  events(type?: string): Stripe.Event[] {
    return this.deliveries.flatMap((d) => (d.event && (!type || d.event.type === type) ? [d.event] : []));
  }
}

/** Polls `probe` (which may ask the simulator over HTTP) until it gives something truthy. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asserts that `promise` rejects and hands back the error for closer checks. */
export async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Stripe.errors.StripeError);
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail');
}

export const orderParams = (orderId = 'order-1'): Stripe.PaymentIntentCreateParams => ({
  amount: 2599,
  currency: 'INR',
  description: `Order ${orderId}`,
  metadata: { orderId, attempt: '1' },
  receipt_email: 'buyer@example.com',
  shipping: {
    name: 'Asha Rao',
    phone: '+91 98450 00000',
    address: { line1: '12 MG Road', line2: 'Flat 4', city: 'Bengaluru', state: 'KA', postal_code: '560001', country: 'IN' },
  },
});

export interface SimulatorHarness {
  sim: PaymentSimulator;
  receiver: WebhookReceiver;
  stripe: Stripe;
  port: number;
}

/**
 * One in-memory simulator and receiver for a test file, both reset before
 * each test. The returned object is filled in by the beforeAll hook.
 */
export function useSimulator(): SimulatorHarness {
  const harness = {} as SimulatorHarness;
  beforeAll(async () => {
    harness.receiver = new WebhookReceiver();
    await harness.receiver.start();
    harness.sim = createPaymentSimulator({ webhookSecret: SECRET, webhookUrl: harness.receiver.url });
    harness.port = (await harness.sim.listen(0)).port;
    harness.stripe = new Stripe('sk_test_simulator', { host: '127.0.0.1', port: harness.port, protocol: 'http' });
  });
  afterAll(async () => {
    await harness.sim.close();
    await harness.receiver.stop();
  });
  beforeEach(() => {
    harness.sim.reset();
    harness.receiver.reset();
  });
  afterEach(async () => {
    // Let stray deliveries finish so none lands in the next test's receiver.
    await harness.sim.settle(5000);
  });
  return harness;
}
