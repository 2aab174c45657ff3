/**
 * Another TypeScript app buying from the shop through its typed client
 * (`resilient-orders/client`): it picks a product, places an order, pays it
 * at the payment simulator with a test card (what the buyer's browser does
 * with Stripe.js), and follows the order until it is CONFIRMED.
 *
 *   ORDERS_URL=http://localhost:4000 SIM_URL=http://127.0.0.1:12200 npm start
 *
 * SKU picks the product (default: the first one in stock). Prints one JSON
 * line { orderId, state, paymentIntentId } and exits 0 once CONFIRMED;
 * exits 1 if the order ends anywhere else or takes longer than TIMEOUT_MS.
 */
import { randomUUID } from 'node:crypto';
import { createOrdersClient, isTRPCClientError, type OrdersApiOutputs } from 'resilient-orders/client';

type Order = OrdersApiOutputs['orders']['get'];

const ordersUrl = process.env.ORDERS_URL ?? 'http://localhost:4000';
const simUrl = process.env.SIM_URL ?? 'http://127.0.0.1:12200';
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 60_000);

// One key for this checkout: a retried placeOrder (say, after a timeout) gets the same order back.
const idempotencyKey = `example-${randomUUID()}`;
const api = createOrdersClient(ordersUrl, { headers: () => ({ 'Idempotency-Key': idempotencyKey }) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the order (with a gentle backoff) until `done` says so, or gives up. */
async function follow(orderId: string, accessToken: string, done: (o: Order) => boolean): Promise<Order> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 200; ; wait = Math.min(wait * 1.5, 2_000)) {
    const order = await api.orders.get.query({ orderId, accessToken });
    if (done(order)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} still ${order.state} after ${timeoutMs} ms`);
    await sleep(wait);
  }
}

async function main(): Promise<void> {
  const catalog = await api.catalog.list.query();
  const product = catalog.find((p) => (process.env.SKU ? p.sku === process.env.SKU : p.stock !== 'sold-out'));
  if (!product) throw new Error(process.env.SKU ? `no product ${process.env.SKU}` : 'nothing in stock');

  const { cartId } = await api.cart.create.mutate();
  await api.cart.addLine.mutate({ cartId, sku: product.sku, qty: 1 });
  const placed = await api.checkout.placeOrder.mutate({
    cartId,
    customer: {
      name: 'Example Buyer',
      email: 'buyer@example.com',
      address: { line1: '1 Residency Road', city: 'Bengaluru', state: 'Karnataka', postalCode: '560025', country: 'IN' },
    },
  });

  // Stock held and a PaymentIntent created by the shop's worker.
  const pending = await follow(placed.orderId, placed.accessToken, (o) => o.state !== 'CREATED' && o.state !== 'INVENTORY_RESERVED');
  const paymentIntentId = pending.payment.paymentIntentId;
  if (pending.state !== 'PAYMENT_PENDING' || !paymentIntentId) throw new Error(`order ${placed.orderId} is ${pending.state}, not payable`);

  // The simulator's test-card confirmation (Stripe test mode: pm_card_visa succeeds).
  const paid = await fetch(`${simUrl}/_sim/payment_intents/${paymentIntentId}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ paymentMethod: 'pm_card_visa' }),
  });
  if (!paid.ok) throw new Error(`paying ${paymentIntentId} at the simulator: HTTP ${paid.status} ${await paid.text()}`);

  // The signed webhook and the worker take it from here.
  const final = await follow(placed.orderId, placed.accessToken, (o) => ['CONFIRMED', 'REJECTED', 'CANCELLED', 'EXPIRED', 'REFUNDED', 'PAYMENT_MISMATCH'].includes(o.state));
  console.log(JSON.stringify({ orderId: final.orderId, state: final.state, paymentIntentId }));
  if (final.state !== 'CONFIRMED') process.exit(1);
}

main().catch((err: unknown) => {
  const code = isTRPCClientError(err) ? ` (${String((err.data as { domainCode?: string } | undefined)?.domainCode ?? err.data?.code)})` : '';
  console.error(`example failed${code}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
