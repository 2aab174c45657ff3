/**
 * In-memory state of the simulated Stripe account, plus the one way state
 * changes leave it: `emit`, which turns a change into an Event.
 *
 * Objects handed out (API responses, event payloads, control API listings)
 * are always deep copies, so later changes never rewrite something already
 * sent — an event is a snapshot of the object at the moment it happened.
 */
import type { Charge, PaymentIntent, Refund, RequestContext, SimObject } from './types';

export type Emit = (type: string, object: SimObject, ctx: RequestContext) => void;

export interface ApiResult {
  status: number;
  body: unknown;
}

export class SimStore {
  readonly intents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();

  constructor(
    private readonly emitEvent: Emit,
    /** Read on every change so `extraEvents` can be switched at any time. */
    readonly extraEvents: () => boolean,
  ) {}

  emit(type: string, object: SimObject, ctx: RequestContext): void {
    this.emitEvent(type, structuredClone(object), ctx);
  }

  /** A response copy of an intent, with `latest_charge` inlined if asked for. */
  presentIntent(intent: PaymentIntent, expand: ReadonlySet<string>): PaymentIntent {
    const copy = structuredClone(intent);
    if (expand.has('latest_charge') && typeof intent.latest_charge === 'string') {
      const charge = this.charges.get(intent.latest_charge);
      if (charge) copy.latest_charge = structuredClone(charge);
    }
    return copy;
  }

  presentRefund(refund: Refund, expand: ReadonlySet<string>): Refund {
    const copy = structuredClone(refund);
    if (expand.has('charge') && typeof refund.charge === 'string') {
      const charge = this.charges.get(refund.charge);
      if (charge) copy.charge = structuredClone(charge);
    }
    if (expand.has('payment_intent') && typeof refund.payment_intent === 'string') {
      const intent = this.intents.get(refund.payment_intent);
      if (intent) copy.payment_intent = structuredClone(intent);
    }
    return copy;
  }

  clear(): void {
    this.intents.clear();
    this.charges.clear();
    this.refunds.clear();
  }
}
