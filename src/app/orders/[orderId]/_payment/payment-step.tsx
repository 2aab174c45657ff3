'use client';
/**
 * The payment step, in the mode the server chose (server/payments/payment-mode.ts):
 * Stripe's Payment Element, the simulator's test-mode card form, or a notice
 * that payment is not set up.
 */
import dynamic from 'next/dynamic';
import type { PaymentMode } from '../../../../server/payments/payment-mode';
import { TestCardForm } from './test-card-form';

// Stripe's code is only fetched where Stripe is used.
const StripePaymentForm = dynamic(() => import('./stripe-payment-form'), {
  ssr: false,
  loading: () => <p role="status">Loading the secure card form…</p>,
});

export function PaymentStep({
  mode,
  paymentIntentId,
  clientSecret,
  amountLabel,
  onPaid,
  onFailed,
}: {
  mode: PaymentMode;
  paymentIntentId: string;
  clientSecret: string;
  amountLabel: string;
  onPaid: () => void;
  /** An attempt was declined or its check failed: the order records why, without a transition. */
  onFailed: () => void;
}) {
  return (
    <section className="panel payment" aria-labelledby="payment-heading" data-payment-mode={mode.kind}>
      <h2 id="payment-heading">Payment</h2>
      {mode.kind === 'stripe' && <StripePaymentForm publishableKey={mode.publishableKey} clientSecret={clientSecret} amountLabel={amountLabel} onPaid={onPaid} onFailed={onFailed} />}
      {mode.kind === 'simulator' && (
        <TestCardForm
          apiUrl={mode.apiUrl}
          publishableKey={mode.publishableKey}
          paymentIntentId={paymentIntentId}
          clientSecret={clientSecret}
          amountLabel={amountLabel}
          onPaid={onPaid}
          onFailed={onFailed}
        />
      )}
      {mode.kind === 'off' && (
        <p role="alert" className="error">
          {mode.reason}
        </p>
      )}
    </section>
  );
}
