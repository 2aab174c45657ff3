/**
 * Fixtures for the scheduler's scenarios, built with the real steps (outside
 * the scheduler, so they are not interleaved): products, orders in each
 * state, PaymentIntents paid at the simulator, success events received
 * through the real webhook intake.
 */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { Order, Product, type OrderDoc } from '../../prisma-free-models';
import type { Deps } from '../../src/server/deps';
import { newAccessToken, newOrderId, orderIdFor } from '../../src/server/ids';
import { createCart } from '../../src/server/cart/cart';
import { hashRequest } from '../../src/server/idempotency/request-idempotency';
import { customer, suiteOrderLimits } from '../helpers';
import type { Fixture } from './explore';
import { openOrderEntry } from '../../src/server/open-work/open-orders';
import { requestPayment } from '../../src/server/orders/request-payment';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { initialStateFields, transition } from '../../src/server/orders/state-machine';
import { receiveStripeWebhook } from '../../src/server/webhooks/intake';
import { WORLD_WEBHOOK_SECRET, type World } from './world';

const PRICE = 50_000;

/** A product with `stock` units. SKUs sort by `prefix`, so a scenario knows which line a reservation takes first. */
export async function product(stock: number, prefix = 'S'): Promise<string> {
  const sku = `${prefix}-${randomBytes(4).toString('hex').toUpperCase()}`;
  await Product.create({ _id: sku, name: `Product ${sku}`, priceMinor: PRICE, currency: 'inr', initialStock: stock, available: stock, reserved: 0, sold: 0 });
  return sku;
}

/** A product with `stock` units on stripe 0 of `stripes` (src/server/inventory/stripes.ts). */
export async function stripedProduct(stock: number, stripes: number, prefix = 'S'): Promise<string> {
  const sku = await product(stock, prefix);
  await Product.updateOne({ _id: sku }, { $set: { stripes } });
  return sku;
}

/** An order as placeOrder writes it (CREATED), for `qty` of each SKU; with `stripe`, every line held on that stripe. */
export async function createdOrder(skus: readonly string[], qty = 1, stripe?: number): Promise<string> {
  const _id = newOrderId();
  await openOrderEntry(_id); // as placeOrder does: listed before it exists
  await Order.create({
    _id,
    accessToken: newAccessToken(),
    requestHash: 'scheduler-fixture',
    ...initialStateFields('place-order'),
    lines: skus.map((sku) => ({ sku, name: `Product ${sku}`, unitPriceMinor: PRICE, qty, lineTotalMinor: PRICE * qty, ...(stripe === undefined ? {} : { stripe }) })),
    currency: 'inr',
    totalMinor: PRICE * qty * skus.length,
    customer: { name: 'Asha Rao', email: 'asha@example.com', address: { line1: '1 MG Road', city: 'Bengaluru', state: 'KA', postalCode: '560001', country: 'IN' } },
  });
  return _id;
}

export async function order(id: string): Promise<OrderDoc> {
  const o = await Order.findById(id).lean<OrderDoc>();
  if (!o) throw new Error(`no order ${id}`);
  return o;
}

async function expectState(id: string, state: string, step: string): Promise<OrderDoc> {
  const o = await order(id);
  if (o.state !== state) throw new Error(`fixture: ${step} left order ${id} ${o.state}, expected ${state}`);
  return o;
}

/** INVENTORY_RESERVED; with `expiring`, its hold is already overdue. */
export async function reservedOrder(world: World, skus: readonly string[], opts: { expiring?: boolean } = {}): Promise<string> {
  const id = await createdOrder(skus);
  await reserveOrder(id, opts.expiring ? world.expiringDeps : world.deps);
  await expectState(id, 'INVENTORY_RESERVED', 'reserve');
  return id;
}

/** PAYMENT_PENDING with its PaymentIntent at the simulator. */
export async function pendingOrder(world: World, skus: readonly string[], opts: { expiring?: boolean } = {}): Promise<{ id: string; pi: string }> {
  const id = await reservedOrder(world, skus, opts);
  await requestPayment(id, world.deps);
  const o = await expectState(id, 'PAYMENT_PENDING', 'request-payment');
  return { id, pi: o.paymentIntentId as string };
}

/** The customer pays at the simulator (the same code path as Stripe.js confirming). */
export async function pay(world: World, pi: string, paymentMethod = 'pm_card_visa'): Promise<Stripe.PaymentIntent> {
  const result = world.sim.pay(pi, paymentMethod);
  if (!result.ok) throw new Error(`fixture: paying ${pi} failed: ${JSON.stringify(result.error)}`);
  return world.stripe.paymentIntents.retrieve(pi);
}

/** A payment_intent.succeeded event as Stripe would deliver it: its id, body and signature. */
export function signedSuccessEvent(world: World, pi: Stripe.PaymentIntent): { id: string; body: string; signature: string } {
  const id = `evt_${randomBytes(8).toString('hex')}`;
  const body = JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000), data: { object: pi } });
  return { id, body, signature: world.stripe.webhooks.generateTestHeaderString({ payload: body, secret: WORLD_WEBHOOK_SECRET }) };
}

/** Delivers a signed event to the real webhook intake. */
export function deliverEvent(world: World, event: { body: string; signature: string }): ReturnType<typeof receiveStripeWebhook> {
  return receiveStripeWebhook(event.body, event.signature, { ...world.deps, webhookSecret: WORLD_WEBHOOK_SECRET });
}

/** A payment_intent.succeeded event, signed and received by the real webhook intake. Returns its id. */
export async function successEvent(world: World, pi: Stripe.PaymentIntent): Promise<string> {
  const event = signedSuccessEvent(world, pi);
  const res = await deliverEvent(world, event);
  if (res.status !== 200) throw new Error(`fixture: webhook intake answered ${res.status} ${JSON.stringify(res.body)}`);
  return event.id;
}

/** A PAYMENT_PENDING order paid at Stripe, its success event received but not processed yet. */
export async function paidPendingOrder(world: World, skus: readonly string[], opts: { expiring?: boolean } = {}): Promise<{ id: string; pi: string; eventId: string }> {
  const { id, pi } = await pendingOrder(world, skus, opts);
  const intent = await pay(world, pi);
  return { id, pi, eventId: await successEvent(world, intent) };
}

/**
 * An order closed by expiry whose clean-up has not run yet: the state a crash
 * right after expiry's transition leaves (holds and PaymentIntent still to settle).
 */
export async function expiredUnsettled(id: string): Promise<void> {
  const o = await order(id);
  const result = await transition(id, {
    from: o.state,
    to: 'EXPIRED',
    set: { closeReason: 'payment not received in time', pendingRelease: o.holdRef, ...(o.paymentIntentId ? { pendingIntentCancel: true } : {}) },
  });
  if (result.outcome !== 'applied') throw new Error(`fixture: expiry of ${id} was ${result.outcome}`);
}

/** placeOrder's deps as the web app sets them: reserved in the call and asked its PaymentIntent there too. */
export const PAYING: Pick<Deps, 'reserveAtPlacement' | 'paymentAtPlacement'> = { reserveAtPlacement: true, paymentAtPlacement: { timeoutMs: 5_000 } };

/** A cart of one unit and the key placeOrder will be called with: the order id is known before it exists. */
export type PlaceFixture = Fixture & { cartId: string; key: string };

export async function placeFixture(): Promise<PlaceFixture> {
  const sku = await product(2);
  const { cartId } = await createCart([{ sku, qty: 1 }], { currency: 'inr', limits: suiteOrderLimits });
  const key = `sched-${cartId}`;
  return { orderIds: [orderIdFor(key, hashRequest({ cartId, customer }))], skus: [sku], cartId, key };
}

export type { Deps };
