/** An order view for the page's unit tests: a payable order with one mug, and whatever `over` changes. */
import type { OrderView } from './order-words';

export const orderView = (over: Partial<OrderView> = {}): OrderView => ({
  orderId: 'ord_000000000000000000000001',
  state: 'PAYMENT_PENDING',
  lines: [{ sku: 'MUG-1', name: 'Ceramic mug', unitPriceMinor: 49_900, qty: 1, lineTotalMinor: 49_900 }],
  totalMinor: 49_900,
  currency: 'inr',
  customer: { name: 'Asha Rao', email: 'asha@example.com' },
  payment: { paymentIntentId: 'pi_1', clientSecret: 'pi_1_secret_x', lastError: null },
  rejection: null,
  closeReason: null,
  refund: null,
  dispute: null,
  holdExpiresAt: null,
  history: [],
  paymentEvents: [],
  createdAt: '2026-01-01T10:00:00.000Z',
  serverTime: '2026-01-01T10:00:00.000Z',
  ...over,
});
