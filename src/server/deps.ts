/** What domain functions need from the outside world, passed in rather than imported. */
import type Stripe from 'stripe';
import type { OrderLimits } from './abuse/order-caps';
import type { OrderChangePublisher } from './orders/order-changes';
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
  /**
   * placeOrder reserves the order it has just written itself, so its answer
   * carries the decision; the reservation job then runs only when that
   * attempt failed (or for replays). Off: every reservation goes through the job.
   */
  reserveAtPlacement?: boolean;
  /**
   * With reserveAtPlacement: placeOrder also asks Stripe for the PaymentIntent
   * of the order it has just reserved, waiting at most `timeoutMs`, so its
   * answer is payable; the payment job runs only when that attempt failed.
   * Off: the job asks.
   */
  paymentAtPlacement?: { timeoutMs: number };
  /**
   * Announces that an order changed (Redis pub/sub), best effort. The state
   * machine uses it after each applied transition once the process installs
   * it (announceTransitionsWith in orders/state-machine.ts).
   */
  orderChanges?: OrderChangePublisher;
}
