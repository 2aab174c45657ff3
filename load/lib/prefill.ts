/**
 * `--prefill N`: N historical orders stored before the run, for the "flat
 * cost with 100,000 orders stored" comparison. They look like what a season
 * of sales leaves behind — 70 % CONFIRMED (paid, sold, with their webhook
 * event), 20 % REJECTED (sold out), 10 % CANCELLED — on a product of their
 * own whose counters agree with them, written through the mongoose models
 * with insertMany in batches. Their dates are days old, so nothing counts
 * them as in flight.
 */
import { randomBytes } from 'node:crypto';
import { Order, Product, WebhookEvent } from '../../prisma-free-models';
import { customerFor } from './buyer';

const BATCH = 1_000;
const hex = (n: number) => randomBytes(n).toString('hex');

export async function prefillOrders(count: number, log: (line: string) => void = () => undefined): Promise<{ sku: string; orders: number; ms: number }> {
  const started = performance.now();
  const sku = `HIST-${hex(4).toUpperCase()}`;
  const price = 99_900;
  const confirmedTotal = Math.round(count * 0.7);
  await Product.create({ _id: sku, name: 'Past sale', priceMinor: price, currency: 'inr', initialStock: confirmedTotal, available: 0, reserved: 0, sold: confirmedTotal, active: false });
  const line = { sku, name: 'Past sale', unitPriceMinor: price, qty: 1, lineTotalMinor: price };
  let written = 0;
  while (written < count) {
    const orders: Record<string, unknown>[] = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < Math.min(BATCH, count - written); i++) {
      const n = written + i;
      const at = new Date(Date.now() - (2 + (n % 60)) * 86_400_000 - (n % 86_400) * 1_000);
      const later = (ms: number) => new Date(at.getTime() + ms);
      const kind = n < confirmedTotal ? 'CONFIRMED' : n < confirmedTotal + Math.round(count * 0.2) ? 'REJECTED' : 'CANCELLED';
      const orderId = `ord_${hex(12)}`;
      const base = {
        _id: orderId,
        accessToken: hex(24),
        requestHash: hex(32),
        cartId: hex(24),
        lines: [line],
        currency: 'inr',
        totalMinor: price,
        customer: customerFor(sku, n % 5_000),
        holdRef: 'r1',
        createdAt: at,
        updatedAt: later(3_000),
        history: [{ from: null, to: 'CREATED', action: 'place-order', outcome: 'applied', at }],
      };
      if (kind === 'REJECTED') {
        orders.push({
          ...base,
          state: 'REJECTED',
          stateChangedAt: later(200),
          rejection: { reason: 'OUT_OF_STOCK', sku },
          history: [...base.history, { from: 'CREATED', to: 'REJECTED', action: 'reject', outcome: 'applied', at: later(200) }],
        });
      } else if (kind === 'CANCELLED') {
        orders.push({
          ...base,
          state: 'CANCELLED',
          stateChangedAt: later(60_000),
          closeReason: 'Cancelled by the customer',
          history: [...base.history, { from: 'CREATED', to: 'CANCELLED', action: 'cancel', outcome: 'applied', at: later(60_000) }],
        });
      } else {
        const pi = `pi_hist_${hex(10)}`;
        const eventId = `evt_hist_${hex(10)}`;
        orders.push({
          ...base,
          state: 'CONFIRMED',
          stateChangedAt: later(3_000),
          paymentIntentId: pi,
          paymentRequestedAt: later(300),
          holdExpiresAt: later(900_000),
          payment: { succeededEventId: eventId, amountReceived: price, currency: 'inr' },
          sold: [{ sku, qty: 1, at: later(2_900) }],
          history: [
            ...base.history,
            { from: 'CREATED', to: 'INVENTORY_RESERVED', action: 'reserve', outcome: 'applied', at: later(200) },
            { from: 'INVENTORY_RESERVED', to: 'PAYMENT_PENDING', action: 'request-payment', outcome: 'applied', at: later(300) },
            { from: 'PAYMENT_PENDING', to: 'PAID', action: 'mark-paid', outcome: 'applied', at: later(2_500) },
            { from: 'PAID', to: 'CONFIRMED', action: 'finalize', outcome: 'applied', at: later(3_000) },
          ],
        });
        events.push({
          _id: eventId,
          type: 'payment_intent.succeeded',
          objectId: pi,
          orderId,
          payload: JSON.stringify({ id: eventId, type: 'payment_intent.succeeded', data: { object: { id: pi, amount: price, currency: 'inr', metadata: { orderId } } } }),
          receivedAt: later(2_400),
          processedAt: later(2_500),
          outcome: 'applied',
          verified: { paymentIntentId: pi, status: 'succeeded', amountReceived: price, currency: 'inr', orderId, at: later(2_450) },
        });
      }
    }
    // lean: written as given (no casting, defaults or timestamps), so the historical dates stay.
    await Order.insertMany(orders, { ordered: false, lean: true });
    if (events.length) await WebhookEvent.insertMany(events, { ordered: false, lean: true });
    written += orders.length;
    if (written % 10_000 === 0 || written === count) log(`prefill: ${written}/${count} orders`);
  }
  return { sku, orders: written, ms: Math.round(performance.now() - started) };
}
