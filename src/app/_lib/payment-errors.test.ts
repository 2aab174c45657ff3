import { describe, expect, it } from 'vitest';
import { describePaymentError } from './payment-errors';

describe('payment errors in words', () => {
  it('prefers the decline code, then the error code, then Stripe’s message', () => {
    expect(describePaymentError({ code: 'card_declined', declineCode: 'insufficient_funds' })).toMatch(/not have enough funds/);
    expect(describePaymentError({ code: 'card_declined', declineCode: 'something_new' })).toBe('Your bank declined the payment.');
    expect(describePaymentError({ code: 'payment_intent_authentication_failure' })).toMatch(/3-D Secure check was not completed/);
    // The order's recorded lastError keeps the decline code (or the error code) as its code.
    expect(describePaymentError({ code: 'generic_decline' })).toBe('Your bank declined the payment.');
    expect(describePaymentError({ code: 'weird', message: 'Stripe says no.' })).toBe('Stripe says no.');
    expect(describePaymentError({})).toBe('The payment did not go through.');
  });
});
