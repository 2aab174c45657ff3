/**
 * 3-D Secure for the test cards that ask for it (test-cards.ts), as Stripe
 * runs it for a PaymentIntent:
 *
 *   confirm   no charge yet: the intent is `requires_action`, its
 *             `next_action` points at a challenge page, and
 *             `payment_intent.requires_action` is sent;
 *   complete  the card is charged: `succeeded`, `payment_intent.succeeded`;
 *   fail      `requires_payment_method` with `last_payment_error`
 *             (`payment_intent_authentication_failure`) and the method
 *             detached, `payment_intent.payment_failed`: the customer may try
 *             again, with another card or the same one.
 *
 * A challenge is a Source-like record saved with the rest of the state, so
 * one left open can still be answered after a restart. Answering it twice,
 * or after the intent moved on (cancelled, or confirmed again with another
 * card), changes nothing.
 */
import { chargeIntent, paymentMethodSnapshot } from './charging';
import { StripeApiError } from './errors';
import { newId, nowSeconds } from './ids';
import type { SimStore } from './store';
import { TEST_CARDS } from './test-cards';
import type { NextAction, PaymentIntent, RequestContext, ThreeDSecureSource } from './types';

export type ChallengeOutcome = 'complete' | 'fail';

/** Where challenge pages are served: `<base>/3d_secure/<source id>?client_secret=…`. */
export const CHALLENGE_PATH = /^\/3d_secure\/(src_[A-Za-z0-9_]+)$/;

export const AUTHENTICATION_FAILED_MESSAGE =
  'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';

export type AnswerResult =
  | { kind: 'answered'; source: ThreeDSecureSource; intent: PaymentIntent }
  /** Answered before (a double submit, the back button): the first answer stands. */
  | { kind: 'already-answered'; source: ThreeDSecureSource; intent: PaymentIntent | undefined }
  /** No such challenge, or not with this client secret. */
  | { kind: 'unknown' };

export function challengeUrl(baseUrl: string, source: ThreeDSecureSource): string {
  return `${baseUrl}/3d_secure/${source.id}?client_secret=${source.client_secret}`;
}

export class ThreeDSecureService {
  constructor(
    private readonly store: SimStore,
    /** The simulator's own address, for a call that did not say how it reached us. */
    private readonly defaultBaseUrl: () => string,
  ) {}

  /**
   * Puts the intent in `requires_action` behind a new challenge. With a
   * `returnUrl` (and without use_stripe_sdk) the next action is a full-page
   * redirect that comes back there; otherwise it is Stripe.js's
   * `use_stripe_sdk`, a challenge shown in a frame.
   */
  begin(
    intent: PaymentIntent,
    paymentMethod: string,
    ctx: RequestContext,
    opts: { returnUrl: string | undefined; useStripeSdk: boolean },
  ): void {
    this.abandon(intent);
    const returnUrl = opts.returnUrl !== undefined && !opts.useStripeSdk ? opts.returnUrl : null;
    const source: ThreeDSecureSource = {
      id: newId.source(),
      object: 'source',
      type: 'three_d_secure',
      client_secret: newId.sourceClientSecret(),
      created: nowSeconds(),
      livemode: false,
      status: 'pending',
      payment_intent: intent.id,
      payment_method: paymentMethod,
      return_url: returnUrl,
      api_version: ctx.apiVersion,
    };
    this.store.save(source);
    const url = challengeUrl(ctx.baseUrl ?? this.defaultBaseUrl(), source);
    const next: NextAction = returnUrl
      ? { type: 'redirect_to_url', redirect_to_url: { url, return_url: returnUrl } }
      : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: url, source: source.id } };
    intent.status = 'requires_action';
    intent.payment_method = paymentMethod;
    intent.next_action = next;
    intent.last_payment_error = null;
    this.store.emit('payment_intent.requires_action', intent, ctx);
  }

  /** The challenge the intent waits on, if it waits on one. */
  pendingFor(intent: PaymentIntent): ThreeDSecureSource | undefined {
    return [...this.store.sources.values()].find((s) => s.payment_intent === intent.id && s.status === 'pending');
  }

  /** Voids the intent's open challenge: it was cancelled, or confirmed again. */
  abandon(intent: PaymentIntent): void {
    const open = this.pendingFor(intent);
    if (!open) return;
    open.status = 'canceled';
    this.store.save(open);
  }

  /** The challenge behind `sourceId`, if `clientSecret` is its secret. */
  find(sourceId: string, clientSecret: string): ThreeDSecureSource | undefined {
    const source = this.store.sources.get(sourceId);
    return source && source.client_secret === clientSecret ? source : undefined;
  }

  /** The customer's answer on the challenge page (or the control API's, for scripts). */
  answer(sourceId: string, clientSecret: string, outcome: ChallengeOutcome): AnswerResult {
    const source = this.find(sourceId, clientSecret);
    const testCard = source && TEST_CARDS.get(source.payment_method);
    if (!source || !testCard) return { kind: 'unknown' };
    const intent = this.store.intents.get(source.payment_intent);
    if (source.status !== 'pending' || !intent || intent.status !== 'requires_action') {
      return { kind: 'already-answered', source, intent };
    }
    // No API request caused this: the events say so, as Stripe's do.
    const ctx: RequestContext = { requestId: null, idempotencyKey: null, apiVersion: source.api_version };
    source.status = outcome === 'complete' ? 'succeeded' : 'failed';
    this.store.save(source);
    if (outcome === 'complete') {
      try {
        chargeIntent(this.store, intent, source.payment_method, testCard, ctx);
      } catch (err) {
        // A card that authenticates and is then declined: the decline is on the intent already.
        if (!(err instanceof StripeApiError)) throw err;
      }
    } else {
      intent.status = 'requires_payment_method';
      intent.payment_method = null;
      intent.next_action = null;
      intent.last_payment_error = {
        type: 'invalid_request_error',
        code: 'payment_intent_authentication_failure',
        message: AUTHENTICATION_FAILED_MESSAGE,
        doc_url: 'https://stripe.com/docs/error-codes/payment-intent-authentication-failure',
        payment_method: paymentMethodSnapshot(source.payment_method, testCard),
      };
      this.store.emit('payment_intent.payment_failed', intent, ctx);
    }
    return { kind: 'answered', source, intent };
  }
}
