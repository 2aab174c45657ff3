/**
 * Refunds and read access to charges.
 *
 * A refund is `succeeded` at once and sends `charge.refunded` (the charge,
 * with `amount_refunded`, `refunded` and its `refunds` listed) and
 * `refund.created` (the refund). For a charge paid with pm_card_refundFail
 * the refund then fails `asyncDelayMs` later, as Stripe documents for that
 * card: it becomes `failed` with `failure_reason: expired_or_canceled_card`,
 * its amount no longer counts in the charge's `amount_refunded`, and
 * `refund.updated` then `refund.failed` are sent (plus `charge.refund.updated`
 * with `extraEvents`).
 *
 * Over-refunds follow Stripe: refunding a fully refunded charge is
 * `charge_already_refunded`; asking for more than what is left of a partly
 * refunded charge is `amount_too_large` on `amount`; a disputed charge is
 * `charge_disputed` (the money went back through the chargeback).
 */
import { executionError, missingParam, noSuchObject, noSuchParamObject, paramError } from './errors';
import type { FormObject } from './form';
import { newId, nowSeconds } from './ids';
import { checkKnown, optEnum, optInt, optMetadata, optNonEmptyString, readExpand } from './params';
import type { ApiResult, SimStore } from './store';
import { TEST_CARDS } from './test-cards';
import type { Charge, Refund, RequestContext } from './types';

const CREATE_KEYS = new Set([
  'payment_intent',
  'charge',
  'amount',
  'reason',
  'metadata',
  'expand',
  // accepted and ignored
  'currency',
  'customer',
  'instructions_email',
  'origin',
  'refund_application_fee',
  'reverse_transfer',
]);
const REFUND_EXPANDABLE = new Set(['charge', 'payment_intent']);
const CHARGE_EXPANDABLE = new Set(['refunds']);
/** What pm_card_refundFail's refunds fail with, per Stripe's testing docs. */
const REFUND_FAILURE_REASON = 'expired_or_canceled_card';
const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

export class RefundService {
  constructor(private readonly store: SimStore) {}

  create(params: FormObject, ctx: RequestContext): ApiResult {
    checkKnown(params, CREATE_KEYS);
    const intentId = optNonEmptyString(params, 'payment_intent');
    const chargeId = optNonEmptyString(params, 'charge');
    if (!intentId && !chargeId) throw missingParam('payment_intent');
    const requested = optInt(params, 'amount', { min: 1 });
    const reason = optEnum(params, 'reason', REASONS);
    const metadata = optMetadata(params) ?? {};
    const expand = readExpand(params, REFUND_EXPANDABLE);

    const charge = this.refundableCharge(intentId, chargeId);
    if (charge.disputed) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'charge_disputed',
        charge: charge.id,
        message: `Charge ${charge.id} has been charged back; cannot issue a refund.`,
      });
    }
    const remaining = charge.amount_captured - charge.amount_refunded;
    if (remaining <= 0) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        charge: charge.id,
        message: `Charge ${charge.id} has already been refunded.`,
      });
    }
    const amount = requested ?? remaining;
    if (amount > remaining) {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        param: 'amount',
        charge: charge.id,
        message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
      });
    }

    const refund: Refund = {
      id: newId.refund(),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: nowSeconds(),
      currency: charge.currency,
      metadata,
      payment_intent: charge.payment_intent,
      reason: reason ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    this.store.save(refund);
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    this.store.emit('charge.refunded', charge, ctx, { payload: this.store.presentCharge(charge, CHARGE_EXPANDABLE) });
    this.store.emit('refund.created', refund, ctx);
    if (TEST_CARDS.get(charge.payment_method)?.refundsFail) {
      this.store.schedule({ kind: 'refund.fail', refundId: refund.id, apiVersion: ctx.apiVersion });
    }
    return { status: 200, body: this.store.presentRefund(refund, expand) };
  }

  /** The card network sends a refund back (pm_card_refundFail): the money was never returned. */
  fail(refundId: string, ctx: RequestContext): void {
    const refund = this.store.refunds.get(refundId);
    const charge = typeof refund?.charge === 'string' ? this.store.charges.get(refund.charge) : undefined;
    if (!refund || !charge || refund.status !== 'succeeded') return;
    const previous = { status: refund.status, failure_reason: null };
    refund.status = 'failed';
    refund.failure_reason = REFUND_FAILURE_REASON;
    charge.amount_refunded -= refund.amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    this.store.save(charge);
    this.store.emit('refund.updated', refund, ctx, { previous });
    if (this.store.extraEvents()) this.store.emit('charge.refund.updated', refund, ctx, { previous });
    this.store.emit('refund.failed', refund, ctx);
  }

  retrieve(id: string, params: FormObject): ApiResult {
    checkKnown(params, new Set(['expand']));
    const expand = readExpand(params, REFUND_EXPANDABLE);
    const refund = this.store.refunds.get(id);
    if (!refund) throw noSuchObject('refund', id, 'refund');
    return { status: 200, body: this.store.presentRefund(refund, expand) };
  }

  retrieveCharge(id: string, params: FormObject): ApiResult {
    checkKnown(params, new Set(['expand']));
    const expand = readExpand(params, CHARGE_EXPANDABLE);
    const charge = this.store.charges.get(id);
    if (!charge) throw noSuchObject('charge', id, 'charge');
    return { status: 200, body: this.store.presentCharge(charge, expand) };
  }

  /** The succeeded charge behind `payment_intent` and/or `charge`, or the error Stripe gives. */
  private refundableCharge(intentId: string | undefined, chargeId: string | undefined): Charge {
    let charge: Charge | undefined;
    if (intentId) {
      const intent = this.store.intents.get(intentId);
      if (!intent) throw noSuchParamObject('payment_intent', intentId, 'payment_intent');
      const latest = typeof intent.latest_charge === 'string' ? this.store.charges.get(intent.latest_charge) : undefined;
      if (intent.status !== 'succeeded' || !latest || latest.status !== 'succeeded') {
        throw executionError(400, {
          type: 'invalid_request_error',
          code: 'charge_not_refundable',
          param: 'payment_intent',
          message: `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
        });
      }
      charge = latest;
      if (chargeId && chargeId !== charge.id) {
        throw paramError('charge', `Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`);
      }
      return charge;
    }
    const id = chargeId ?? '';
    charge = this.store.charges.get(id);
    if (!charge) throw noSuchParamObject('charge', id, 'charge');
    if (charge.status !== 'succeeded') {
      throw executionError(400, {
        type: 'invalid_request_error',
        code: 'charge_not_refundable',
        param: 'charge',
        message: `Charge ${id} has not succeeded and cannot be refunded.`,
      });
    }
    return charge;
  }
}
