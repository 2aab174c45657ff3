/**
 * Disputes (chargebacks), as pm_card_createDispute produces them: the payment
 * succeeds, and `asyncDelayMs` later the cardholder's bank disputes the whole
 * amount as `fraudulent`. The charge becomes `disputed: true` (and can no
 * longer be refunded) and `charge.dispute.created` is sent with the dispute
 * (plus `charge.dispute.funds_withdrawn` with `extraEvents`).
 *
 * Like Stripe, a dispute carries no metadata of its own: it names its
 * `charge` and `payment_intent`, which is how a receiver finds the order.
 * The simulator never answers a dispute, so it stays `needs_response`.
 */
import { noSuchObject } from './errors';
import type { FormObject } from './form';
import { newId, nowSeconds } from './ids';
import { checkKnown, readExpand } from './params';
import type { ApiResult, SimStore } from './store';
import type { Dispute, RequestContext } from './types';

/** Stripe gives the merchant about a week to submit evidence. */
const EVIDENCE_WINDOW_SECONDS = 7 * 24 * 60 * 60;
/** Visa's reason code for fraud in a card-absent environment, what a test card dispute reports. */
const FRAUD_REASON_CODE = '10.4';

const EVIDENCE_FIELDS = [
  'access_activity_log',
  'billing_address',
  'cancellation_policy',
  'cancellation_policy_disclosure',
  'cancellation_rebuttal',
  'customer_communication',
  'customer_email_address',
  'customer_name',
  'customer_purchase_ip',
  'customer_signature',
  'duplicate_charge_documentation',
  'duplicate_charge_explanation',
  'duplicate_charge_id',
  'product_description',
  'receipt',
  'refund_policy',
  'refund_policy_disclosure',
  'refund_refusal_explanation',
  'service_date',
  'service_documentation',
  'shipping_address',
  'shipping_carrier',
  'shipping_date',
  'shipping_documentation',
  'shipping_tracking_number',
  'uncategorized_file',
  'uncategorized_text',
];

export class DisputeService {
  constructor(private readonly store: SimStore) {}

  /** Opens a fraud dispute over the whole charge; a charge is disputed at most once. */
  open(chargeId: string, ctx: RequestContext): void {
    const charge = this.store.charges.get(chargeId);
    if (!charge || charge.disputed || charge.status !== 'succeeded') return;
    const created = nowSeconds();
    const brand = charge.payment_method_details.card.brand;
    const dispute: Dispute = {
      id: newId.dispute(),
      object: 'dispute',
      amount: charge.amount,
      balance_transactions: [],
      charge: charge.id,
      created,
      currency: charge.currency,
      enhanced_eligibility_types: [],
      evidence: { ...Object.fromEntries(EVIDENCE_FIELDS.map((f) => [f, null])), enhanced_evidence: {} },
      evidence_details: {
        due_by: created + EVIDENCE_WINDOW_SECONDS,
        enhanced_eligibility: {},
        has_evidence: false,
        past_due: false,
        submission_count: 0,
        submission_method: 'not_submitted',
      },
      intended_submission_method: null,
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      network_reason_code: FRAUD_REASON_CODE,
      payment_intent: charge.payment_intent,
      payment_method_details: {
        type: 'card',
        card: { brand, case_type: 'chargeback', network: brand, network_reason_code: FRAUD_REASON_CODE },
      },
      reason: 'fraudulent',
      status: 'needs_response',
    };
    charge.disputed = true;
    this.store.save(charge);
    this.store.emit('charge.dispute.created', dispute, ctx);
    if (this.store.extraEvents()) this.store.emit('charge.dispute.funds_withdrawn', dispute, ctx);
  }

  retrieve(id: string, params: FormObject): ApiResult {
    checkKnown(params, new Set(['expand']));
    readExpand(params, new Set());
    const dispute = this.store.disputes.get(id);
    if (!dispute) throw noSuchObject('dispute', id, 'dispute');
    return { status: 200, body: structuredClone(dispute) };
  }
}
