/**
 * Stripe's test PaymentMethod tokens the simulator understands, with the
 * outcome Stripe documents for each. Anything else is "No such PaymentMethod".
 *
 * Two succeed now and go wrong later (`asyncDelayMs` later, see scheduled.ts):
 *   pm_card_refundFail     (4000 0000 0000 5126) a refund starts `succeeded`
 *                          and then fails with `expired_or_canceled_card`
 *   pm_card_createDispute  (4000 0000 0000 0259) the payment is disputed as
 *                          `fraudulent` (a chargeback)
 *
 * Two ask for 3-D Secure on every payment (confirm answers `requires_action`
 * and the challenge page decides, see three-d-secure.ts):
 *   pm_card_authenticationRequired  (4000 0027 6000 3184)
 *   pm_card_threeDSecure2Required   (4000 0000 0000 3220)
 *
 * Unlike Stripe, the token is kept as the PaymentIntent's `payment_method`
 * (Stripe would mint a fresh pm_… id): it makes logs and assertions readable.
 */
import type { CardDetails } from './types';

export interface Decline {
  code: string;
  declineCode: string;
  message: string;
}

export interface TestCard {
  card: CardDetails;
  decline: Decline | null;
  /** Refunds of this card's charges fail some time after they were created. */
  refundsFail?: true;
  /** The cardholder's bank disputes the payment some time after it succeeded. */
  disputed?: true;
  /** The bank asks for 3-D Secure before it authorises the payment. */
  authenticationRequired?: true;
}

const visa = (last4: string, funding: CardDetails['funding'] = 'credit'): CardDetails => ({
  brand: 'visa',
  last4,
  exp_month: 12,
  exp_year: new Date().getUTCFullYear() + 3,
  funding,
  country: 'US',
});

const declined = (code: string, declineCode: string, message: string): Decline => ({
  code,
  declineCode,
  message,
});

export const TEST_CARDS: ReadonlyMap<string, TestCard> = new Map<string, TestCard>([
  ['pm_card_visa', { card: visa('4242'), decline: null }],
  ['pm_card_visa_debit', { card: visa('5556', 'debit'), decline: null }],
  ['pm_card_mastercard', { card: { ...visa('4444'), brand: 'mastercard' }, decline: null }],
  ['pm_card_amex', { card: { ...visa('8431'), brand: 'amex' }, decline: null }],
  ['pm_card_refundFail', { card: visa('5126'), decline: null, refundsFail: true }],
  ['pm_card_createDispute', { card: visa('0259'), decline: null, disputed: true }],
  ['pm_card_authenticationRequired', { card: visa('3184'), decline: null, authenticationRequired: true }],
  ['pm_card_threeDSecure2Required', { card: visa('3220'), decline: null, authenticationRequired: true }],
  [
    'pm_card_chargeDeclined',
    { card: visa('0002'), decline: declined('card_declined', 'generic_decline', 'Your card was declined.') },
  ],
  [
    'pm_card_chargeDeclinedInsufficientFunds',
    {
      card: visa('9995'),
      decline: declined('card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
    },
  ],
  [
    'pm_card_chargeDeclinedLostCard',
    { card: visa('9987'), decline: declined('card_declined', 'lost_card', 'Your card was declined.') },
  ],
  [
    'pm_card_chargeDeclinedStolenCard',
    { card: visa('9979'), decline: declined('card_declined', 'stolen_card', 'Your card was declined.') },
  ],
  [
    'pm_card_chargeDeclinedFraudulent',
    { card: visa('0019'), decline: declined('card_declined', 'fraudulent', 'Your card was declined.') },
  ],
  [
    'pm_card_chargeDeclinedExpiredCard',
    { card: visa('0069'), decline: declined('expired_card', 'expired_card', 'Your card has expired.') },
  ],
  [
    'pm_card_chargeDeclinedIncorrectCvc',
    {
      card: visa('0127'),
      decline: declined('incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect."),
    },
  ],
  [
    'pm_card_chargeDeclinedProcessingError',
    {
      card: visa('0119'),
      decline: declined(
        'processing_error',
        'processing_error',
        'An error occurred while processing your card. Try again in a little bit.',
      ),
    },
  ],
]);
