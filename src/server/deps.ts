/** What domain functions need from the outside world, passed in rather than imported. */
import type Stripe from 'stripe';
import type { OrderLimits } from './abuse/order-caps';
import type { Enqueuer } from './queue/queues';

export interface Deps {
  enqueuer: Enqueuer;
  stripe: Stripe;
  /** The shop's currency, lower-case ISO 4217 (inr). */
  currency: string;
  /** How long a reservation waits for payment. */
  holdTimeMs: number;
  /** What one order, and one customer's unpaid orders, may hold. */
  orderLimits: OrderLimits;
}
