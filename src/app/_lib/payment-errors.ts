/**
 * Why a payment did not go through, in words a buyer can act on. Keyed by
 * Stripe's decline codes and error codes (the same from Stripe.js, from the
 * simulator and in the order's recorded `lastError`); anything unknown falls
 * back to the message Stripe gave, then to a generic sentence.
 */
const REASONS: Record<string, string> = {
  generic_decline: 'Your bank declined the payment.',
  card_declined: 'Your bank declined the payment.',
  do_not_honor: 'Your bank declined the payment.',
  fraudulent: 'Your bank declined the payment.',
  insufficient_funds: 'Your card does not have enough funds for this payment.',
  lost_card: 'Your bank declined the payment: the card is reported lost.',
  stolen_card: 'Your bank declined the payment: the card is reported stolen.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: 'The security code (CVC) of the card is wrong.',
  incorrect_number: 'The card number is wrong.',
  processing_error: 'The card could not be processed just now. Try again in a moment.',
  authentication_required: 'Your bank wants you to approve this payment with 3-D Secure.',
  payment_intent_authentication_failure: 'The 3-D Secure check was not completed, so your bank did not approve the payment.',
};

export interface PaymentErrorLike {
  code?: string | null;
  declineCode?: string | null;
  message?: string | null;
}

export function describePaymentError(err: PaymentErrorLike): string {
  return (
    (err.declineCode ? REASONS[err.declineCode] : undefined) ??
    (err.code ? REASONS[err.code] : undefined) ??
    (err.message || 'The payment did not go through.')
  );
}

/** What the buyer can do next after a failed attempt, while the order is still payable. */
export const TRY_AGAIN = 'Nothing was charged. You can try again, with this card or another, while your items are held.';
