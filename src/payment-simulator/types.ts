/**
 * Shapes shared by the payment simulator's modules.
 *
 * The API objects are hand-written subsets of Stripe's own objects: the server
 * must not depend on the `stripe` package (it is the thing being imitated), and
 * a small explicit shape makes it obvious which fields the simulator maintains.
 * Field names and nullability follow Stripe so the SDK's types stay truthful.
 */

export type Metadata = Record<string, string>;

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface Shipping {
  address: Address;
  carrier: string | null;
  name: string;
  phone: string | null;
  tracking_number: string | null;
}

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface CardDetails {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  funding: 'credit' | 'debit';
  country: string;
}

export interface PaymentMethodSnapshot {
  id: string;
  object: 'payment_method';
  type: 'card';
  card: CardDetails;
  created: number;
  livemode: false;
}

/**
 * Why the last attempt failed: a decline (`card_error`, with the failed
 * charge) or a failed 3-D Secure authentication (`invalid_request_error`,
 * `payment_intent_authentication_failure`, no charge: the bank never saw an
 * authorisation request).
 */
export type LastPaymentError =
  | {
      type: 'card_error';
      code: string;
      decline_code: string;
      message: string;
      doc_url: string;
      charge: string;
      payment_method: PaymentMethodSnapshot;
    }
  | {
      type: 'invalid_request_error';
      code: 'payment_intent_authentication_failure';
      message: string;
      doc_url: string;
      payment_method: PaymentMethodSnapshot;
    };

/**
 * What the customer must do before the payment can go on (status
 * `requires_action`): here, always a 3-D Secure challenge. Stripe.js confirms
 * with `use_stripe_sdk=true` and gets `use_stripe_sdk` (the challenge opens in
 * a frame on the merchant's page); a confirmation with a `return_url` gets
 * `redirect_to_url` (the whole page goes to the bank and comes back).
 */
export type NextAction =
  | {
      type: 'use_stripe_sdk';
      use_stripe_sdk: { type: 'three_d_secure_redirect'; stripe_js: string; source: string };
    }
  | {
      type: 'redirect_to_url';
      redirect_to_url: { url: string; return_url: string };
    };

export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  allowed_payment_method_types: string[] | null;
  automatic_payment_methods: { enabled: boolean; allow_redirects?: string } | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: string;
  client_secret: string;
  confirmation_method: string;
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  last_payment_error: LastPaymentError | null;
  /** A charge id, or the charge itself when the request asked for `expand[]=latest_charge`. */
  latest_charge: string | Charge | null;
  livemode: false;
  metadata: Metadata;
  next_action: NextAction | null;
  payment_method: string | null;
  payment_method_types: string[];
  receipt_email: string | null;
  setup_future_usage: string | null;
  shipping: Shipping | null;
  statement_descriptor: string | null;
  statement_descriptor_suffix: string | null;
  status: PaymentIntentStatus;
}

export interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  balance_transaction: null;
  captured: boolean;
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  /** True once a dispute (chargeback) was opened on this charge. */
  disputed: boolean;
  failure_code: string | null;
  failure_message: string | null;
  livemode: false;
  metadata: Metadata;
  outcome: {
    network_status: string;
    reason: string | null;
    risk_level: string;
    seller_message: string;
    type: string;
  };
  paid: boolean;
  payment_intent: string;
  payment_method: string;
  payment_method_details: { type: 'card'; card: CardDetails };
  receipt_email: string | null;
  refunded: boolean;
  /**
   * Since API version 2022-11-15 Stripe leaves this out of charges unless
   * asked for (`expand[]=refunds`); it is in the `charge.refunded` event.
   */
  refunds?: RefundList;
  shipping: Shipping | null;
  status: 'succeeded' | 'failed';
}

export interface RefundList {
  object: 'list';
  data: Refund[];
  has_more: false;
  url: string;
}

export interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  balance_transaction: null;
  charge: string | Charge;
  created: number;
  currency: string;
  /** Only on a failed refund: why the card network sent the money back. */
  failure_reason?: string;
  metadata: Metadata;
  payment_intent: string | PaymentIntent;
  reason: string | null;
  receipt_number: null;
  source_transfer_reversal: null;
  /**
   * Card refunds start `succeeded`; Stripe's refundFail test card turns one
   * `failed` some time later, exactly as a real card refund can.
   */
  status: 'succeeded' | 'failed';
  transfer_reversal: null;
}

/** Evidence fields are all null (and enhanced_evidence empty) until the merchant responds, which the simulator never does. */
export type DisputeEvidence = Record<string, string | null | Record<string, never>>;

export interface Dispute {
  id: string;
  object: 'dispute';
  amount: number;
  balance_transactions: [];
  charge: string;
  created: number;
  currency: string;
  enhanced_eligibility_types: string[];
  evidence: DisputeEvidence;
  evidence_details: {
    due_by: number | null;
    enhanced_eligibility: Record<string, never>;
    has_evidence: boolean;
    past_due: boolean;
    submission_count: number;
    submission_method: string;
  };
  intended_submission_method: null;
  is_charge_refundable: boolean;
  livemode: false;
  metadata: Metadata;
  network_reason_code: string | null;
  payment_intent: string | null;
  payment_method_details: {
    type: 'card';
    card: { brand: string; case_type: 'chargeback' | 'inquiry'; network: string; network_reason_code: string | null };
  };
  reason: string;
  status: 'needs_response' | 'under_review' | 'won' | 'lost' | 'warning_needs_response';
}

/**
 * A 3-D Secure authentication in progress, as Stripe's `three_d_secure`
 * Source objects were: what the challenge page (three-d-secure.ts) completes
 * or fails. `client_secret` is in the challenge URL, so only whoever received
 * the URL can answer the challenge. Never returned by the API.
 */
export interface ThreeDSecureSource {
  id: string;
  object: 'source';
  type: 'three_d_secure';
  client_secret: string;
  created: number;
  livemode: false;
  /** `pending` until answered; `canceled` when the intent moved on without it. */
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  payment_intent: string;
  /** The test card being authenticated. */
  payment_method: string;
  /** Where the challenge page sends the customer afterwards (redirect_to_url), or null (use_stripe_sdk). */
  return_url: string | null;
  /** The API version of the confirmation, for the events the answer sends. */
  api_version: string;
}

export type SimObject = PaymentIntent | Charge | Refund | Dispute | ThreeDSecureSource;

export interface SimEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  /** `previous_attributes`: on `*.updated` events, the changed fields' values before the change. */
  data: { object: SimObject; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/**
 * Who caused a state change: copied into the resulting events' `request` and
 * `api_version`. Changes that happen later on their own (a refund failing, a
 * dispute opening) have no request: `requestId` and `idempotencyKey` are null,
 * as in Stripe's events, and the API version is the one of the request that
 * set them in motion.
 */
export interface RequestContext {
  requestId: string | null;
  idempotencyKey: string | null;
  apiVersion: string;
  /**
   * The simulator's address as the caller reached it (`http://host:port`), for
   * URLs handed back to that caller (the 3-D Secure challenge page).
   */
  baseUrl?: string;
  /** The request was made with a publishable key (the customer's browser): client-secret rules apply. */
  publishableKey?: boolean;
}

// ---------------------------------------------------------------- configuration

export interface RetryPolicy {
  /** Total attempts per delivery, including the first. */
  attempts: number;
  /** Wait after the first failed attempt; doubles after each further failure. */
  baseDelayMs: number;
  /** Give up on a single attempt after this long (counted as a failed attempt). */
  timeoutMs: number;
}

export interface SimulatorConfig {
  /** Where events are POSTed; null = record events but deliver nothing. */
  webhookUrl: string | null;
  /** Deliver every event this many times (1 = normal). */
  duplicate: number;
  /** Wait this long before each delivery. */
  delayMs: number;
  /** The next N events are recorded but never delivered. */
  dropNext: number;
  /** Queue deliveries until flush() instead of sending them. Turning it off does not send what is already held. */
  hold: boolean;
  /** flush() sends held deliveries newest-first instead of oldest-first. */
  reorder: boolean;
  retry: RetryPolicy;
  /** Sign with this secret instead of the real one (forged signatures); null = the real secret. */
  signWithSecret: string | null;
  /** Added to the signature timestamp (negative = stale signatures). */
  signatureTimestampOffsetSec: number;
  /**
   * The next N POST /v1 requests do their work (and store their idempotent
   * result) but the connection is cut before the answer is sent — a response
   * lost in the network. The stripe SDK then retries with the same
   * Idempotency-Key and must get the stored answer.
   */
  dropNextResponses: number;
  /**
   * Also emit the companion events real Stripe sends (payment_intent.created,
   * charge.succeeded, charge.failed) so the receiver's handling of event types
   * it does not care about is exercised. Off by default so event sequences
   * stay easy to assert on.
   */
  extraEvents: boolean;
  /**
   * How long "some time later" is for the test cards whose outcome arrives
   * after the API call: pm_card_refundFail's refund failing and
   * pm_card_createDispute's dispute opening. Stripe takes seconds to days.
   */
  asyncDelayMs: number;
  /**
   * Every API answer is sent this long after the request's work is done and
   * saved: Stripe's own round trip (a few hundred ms), which a local server
   * otherwise lacks. 0 (the default) answers at once.
   */
  apiLatencyMs: number;
}

export type SimulatorConfigPatch = Partial<Omit<SimulatorConfig, 'retry'>> & {
  retry?: Partial<RetryPolicy>;
};

// ---------------------------------------------------------------- webhook records

export interface DeliveryAttempt {
  attempt: number;
  /** ISO time the attempt started. */
  at: string;
  url: string;
  /** HTTP status of the receiver's answer, null when there was no answer. */
  statusCode: number | null;
  /** Connection error or timeout, null when the receiver answered. */
  error: string | null;
  durationMs: number;
  /** First 500 characters of the receiver's answer, for debugging. */
  responseBody: string | null;
}

export type DeliveryStatus =
  | 'held'
  | 'pending'
  | 'succeeded'
  | 'failed'
  | 'no_endpoint'
  | 'canceled';

export interface DeliveryRecord {
  id: string;
  reason: 'initial' | 'duplicate' | 'resend';
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
}

/** One delivery attempt without its payload: what a load report needs to time the receiver. */
export interface DeliveryAttemptRow {
  eventId: string;
  type: string;
  deliveryId: string;
  reason: DeliveryRecord['reason'];
  attempt: number;
  /** ISO time the attempt started. */
  at: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** The receiver did not answer within retry.timeoutMs. */
  timedOut: boolean;
}

export interface EventRecord {
  id: string;
  type: string;
  createdAt: string;
  /** True when a dropNext switch swallowed this event: it exists but was never sent. */
  dropped: boolean;
  event: SimEvent;
  deliveries: DeliveryRecord[];
}

export interface RequestCounts {
  /** `METHOD /path/template` → requests whose handler actually ran (replays excluded). */
  counts: Record<string, number>;
  /** Requests answered from the idempotency store instead of running again. */
  replays: number;
  replaysByRoute: Record<string, number>;
  /** Requests refused because their Idempotency-Key was first used with other parameters. */
  idempotencyConflicts: number;
}

/** Body of a Stripe error response. */
export interface StripeErrorBody {
  error: {
    type: string;
    message: string;
    code?: string;
    decline_code?: string;
    param?: string;
    doc_url?: string;
    charge?: string;
    payment_intent?: PaymentIntent;
    payment_method?: PaymentMethodSnapshot;
  };
}

export type PayResult =
  | { ok: true; status: number; paymentIntent: PaymentIntent }
  | { ok: false; status: number; error: StripeErrorBody['error'] };
