'use client';
/**
 * Payment with Stripe itself (a publishable key is configured): Stripe's
 * Payment Element inside an Elements group created with the order's client
 * secret, confirmed with `stripe.confirmPayment({ elements, redirect:
 * 'if_required' })` as Stripe documents for a PaymentIntent. The intent
 * allows no redirects (payments/payment-intents.ts), so the page stays here:
 * a 3-D Secure check opens in Stripe's own modal during confirmPayment. A
 * check left open by a reload is resumed with `stripe.handleNextAction`.
 * Card details never touch our page or server: they live in Stripe's frames.
 *
 * Stripe.js is loaded from js.stripe.com (as Stripe requires) only when this
 * form is shown: `@stripe/stripe-js/pure` does not inject the script on
 * import, and the order page loads this module lazily.
 */
import { Elements, PaymentElement, useElements, useStripe } from '@stripe/react-stripe-js';
import type { PaymentIntentOrSetupIntentResult, PaymentIntentResult, Stripe } from '@stripe/stripe-js';
import { loadStripe } from '@stripe/stripe-js/pure';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { describePaymentError, TRY_AGAIN } from '../../../_lib/payment-errors';

/** One Stripe instance per key, as Stripe asks (creating several hurts performance). */
const instances = new Map<string, Promise<Stripe | null>>();
function stripeFor(publishableKey: string): Promise<Stripe | null> {
  let instance = instances.get(publishableKey);
  if (!instance) {
    instance = loadStripe(publishableKey);
    instances.set(publishableKey, instance);
  }
  return instance;
}

interface Props {
  publishableKey: string;
  clientSecret: string;
  amountLabel: string;
  onPaid: () => void;
  onFailed: () => void;
}

export default function StripePaymentForm({ publishableKey, clientSecret, amountLabel, onPaid, onFailed }: Props) {
  return (
    <Elements stripe={stripeFor(publishableKey)} options={{ clientSecret, appearance: { theme: 'stripe' } }}>
      <PaymentForm clientSecret={clientSecret} amountLabel={amountLabel} onPaid={onPaid} onFailed={onFailed} />
    </Elements>
  );
}

function PaymentForm({ clientSecret, amountLabel, onPaid, onFailed }: Omit<Props, 'publishableKey'>) {
  const stripe = useStripe();
  const elements = useElements();
  const [error, setError] = useState<string | null>(null);
  const [paying, setPaying] = useState(false);
  const [paid, setPaid] = useState(false);
  const [actionLeftOpen, setActionLeftOpen] = useState(false);
  const busy = useRef(false);

  // After a reload: already paid, or a 3-D Secure check left open.
  useEffect(() => {
    if (!stripe) return;
    let live = true;
    void stripe.retrievePaymentIntent(clientSecret).then(({ paymentIntent }) => {
      if (!live || !paymentIntent) return;
      if (paymentIntent.status === 'requires_action') setActionLeftOpen(true);
      if (paymentIntent.status === 'succeeded' || paymentIntent.status === 'processing') {
        setPaid(true);
        onPaid();
      }
    });
    return () => {
      live = false;
    };
  }, [stripe, clientSecret, onPaid]);

  type Result = PaymentIntentResult | PaymentIntentOrSetupIntentResult;

  function outcome(result: Result) {
    if (result.error) {
      const e = result.error;
      setError(`${describePaymentError({ code: e.code, declineCode: e.decline_code, message: e.message })} ${TRY_AGAIN}`);
      onFailed();
      return;
    }
    const status = result.paymentIntent?.status;
    if (status === 'succeeded' || status === 'processing') {
      setPaid(true);
      onPaid();
    } else if (status === 'requires_action') {
      setActionLeftOpen(true);
    }
  }

  async function run(action: () => Promise<Result>) {
    if (busy.current) return;
    busy.current = true;
    setPaying(true);
    setError(null);
    try {
      outcome(await action());
    } finally {
      busy.current = false;
      setPaying(false);
    }
  }

  function pay(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!stripe || !elements) return;
    void run(() => stripe.confirmPayment({ elements, redirect: 'if_required' }));
  }

  function finishAuthentication() {
    if (!stripe) return;
    setActionLeftOpen(false);
    void run(() => stripe.handleNextAction({ clientSecret }));
  }

  if (paid) {
    return (
      <p role="status" className="success" data-testid="payment-status">
        Payment accepted. Confirming your order with the bank’s answer…
      </p>
    );
  }
  return (
    <form onSubmit={pay} className="stripe-form">
      <PaymentElement options={{ layout: 'tabs' }} />
      {error && (
        <p role="alert" className="error" data-testid="payment-error">
          {error}
        </p>
      )}
      {actionLeftOpen && (
        <p className="hint" role="status">
          Your bank’s 3-D Secure check is not finished.{' '}
          <button type="button" className="button" onClick={finishAuthentication}>
            Finish the 3-D Secure check
          </button>
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={!stripe || !elements || paying}>
        {paying ? 'Paying…' : `Pay ${amountLabel}`}
      </button>
    </form>
  );
}
