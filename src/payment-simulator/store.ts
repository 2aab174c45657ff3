/**
 * State of the simulated Stripe account, plus the ways state changes leave
 * it: `save`, which tells the state file an object changed; `emit`, which
 * turns a change into an Event; and `schedule`, for a change that is due
 * some time later (scheduled.ts).
 *
 * Objects handed out (API responses, event payloads, control API listings)
 * are always deep copies, so later changes never rewrite something already
 * sent — an event is a snapshot of the object at the moment it happened.
 */
import type { ScheduledChangeInput } from './scheduled';
import type { Charge, Dispute, PaymentIntent, Refund, RequestContext, SimObject, ThreeDSecureSource } from './types';

export interface EmitOptions {
  /** What the event carries when it is not the saved object itself (a charge with its refunds listed). */
  payload?: SimObject;
  /** For `*.updated` events: the changed fields' values before the change. */
  previous?: Record<string, unknown>;
}

export type Emit = (type: string, object: SimObject, ctx: RequestContext, previous?: Record<string, unknown>) => void;

export interface StoreDeps {
  emit: Emit;
  /** Read on every change so `extraEvents` can be switched at any time. */
  extraEvents: () => boolean;
  schedule: (change: ScheduledChangeInput) => void;
  /** Called with every saved object; the state file writes it out (persistence.ts). */
  changed: (object: SimObject) => void;
}

export interface ApiResult {
  status: number;
  body: unknown;
}

export class SimStore {
  readonly intents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  /** 3-D Secure authentications (three-d-secure.ts). */
  readonly sources = new Map<string, ThreeDSecureSource>();

  constructor(private readonly deps: StoreDeps) {}

  extraEvents(): boolean {
    return this.deps.extraEvents();
  }

  /**
   * Records a new or changed object. Every mutation must end in a save (or an
   * emit, which saves): it is what makes the change survive a restart.
   */
  save(object: SimObject): void {
    this.mapFor(object).set(object.id, object);
    this.deps.changed(object);
  }

  /** Everything, for the state file: intents, charges, refunds, disputes, sources, each oldest first. */
  all(): SimObject[] {
    return [
      ...this.intents.values(),
      ...this.charges.values(),
      ...this.refunds.values(),
      ...this.disputes.values(),
      ...this.sources.values(),
    ];
  }

  /** Saves `object` and sends an event about it. */
  emit(type: string, object: SimObject, ctx: RequestContext, opts: EmitOptions = {}): void {
    this.save(object);
    this.deps.emit(type, structuredClone(opts.payload ?? object), ctx, opts.previous);
  }

  schedule(change: ScheduledChangeInput): void {
    this.deps.schedule(change);
  }

  /** The map that holds this kind of object (only ever given objects of that kind). */
  private mapFor(object: SimObject): Map<string, SimObject> {
    switch (object.object) {
      case 'payment_intent':
        return this.intents;
      case 'charge':
        return this.charges;
      case 'refund':
        return this.refunds;
      case 'dispute':
        return this.disputes;
      case 'source':
        return this.sources;
    }
  }

  /** A response copy of an intent, with `latest_charge` inlined if asked for. */
  presentIntent(intent: PaymentIntent, expand: ReadonlySet<string>): PaymentIntent {
    const copy = structuredClone(intent);
    if (expand.has('latest_charge') && typeof intent.latest_charge === 'string') {
      const charge = this.charges.get(intent.latest_charge);
      if (charge) copy.latest_charge = this.presentCharge(charge, new Set());
    }
    return copy;
  }

  /**
   * An intent as a publishable key may see it (Stripe.js's PaymentIntent):
   * what the customer's browser needs to pay and to show the outcome, and
   * nothing of the merchant's (no metadata, customer, charges or amounts received).
   */
  presentIntentToClient(intent: PaymentIntent): Partial<PaymentIntent> {
    const copy = structuredClone(intent);
    return Object.fromEntries(CLIENT_INTENT_FIELDS.map((k) => [k, copy[k]]));
  }

  /** A response copy of a charge, with its refunds listed (newest first, like every Stripe list) if asked for. */
  presentCharge(charge: Charge, expand: ReadonlySet<string>): Charge {
    const copy = structuredClone(charge);
    if (expand.has('refunds')) {
      const data = [...this.refunds.values()]
        .filter((r) => r.charge === charge.id)
        .reverse()
        .map((r) => structuredClone(r));
      copy.refunds = { object: 'list', data, has_more: false, url: `/v1/charges/${charge.id}/refunds` };
    }
    return copy;
  }

  presentRefund(refund: Refund, expand: ReadonlySet<string>): Refund {
    const copy = structuredClone(refund);
    if (expand.has('charge') && typeof refund.charge === 'string') {
      const charge = this.charges.get(refund.charge);
      if (charge) copy.charge = this.presentCharge(charge, new Set());
    }
    if (expand.has('payment_intent') && typeof refund.payment_intent === 'string') {
      const intent = this.intents.get(refund.payment_intent);
      if (intent) copy.payment_intent = structuredClone(intent);
    }
    return copy;
  }

  /** Puts back objects read from the state file (no change to report: they are already saved). */
  restore(objects: Iterable<SimObject>): void {
    for (const object of objects) this.mapFor(object).set(object.id, object);
  }

  clear(): void {
    this.intents.clear();
    this.charges.clear();
    this.refunds.clear();
    this.disputes.clear();
    this.sources.clear();
  }
}

/** The PaymentIntent fields Stripe answers a publishable key with. */
const CLIENT_INTENT_FIELDS = [
  'id',
  'object',
  'amount',
  'automatic_payment_methods',
  'canceled_at',
  'cancellation_reason',
  'capture_method',
  'client_secret',
  'confirmation_method',
  'created',
  'currency',
  'description',
  'last_payment_error',
  'livemode',
  'next_action',
  'payment_method',
  'payment_method_types',
  'receipt_email',
  'setup_future_usage',
  'shipping',
  'status',
] as const satisfies readonly (keyof PaymentIntent)[];
