'use client';
/**
 * The test-mode card form, for the payment simulator only (never offered in
 * production: server/payments/payment-mode.ts). The buyer picks one of
 * Stripe's test cards; the form confirms the order's PaymentIntent with it,
 * as Stripe.js would (simulator-payments.ts), shows a 3-D Secure check in a
 * dialog when the card asks for one, and says in words why a payment failed.
 * It never tells our server anything: the order moves when the signed
 * webhook reaches it, and the order page shows that.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { describePaymentError, TRY_AGAIN } from '../../../_lib/payment-errors';
import { challengeUrlOf, simulatorPayments, type IntentAnswer } from './simulator-payments';
import { ThreeDSecureDialog } from './three-d-secure-dialog';

const TEST_CARDS = [
  { id: 'pm_card_visa', number: '4242 4242 4242 4242', outcome: 'Payment succeeds' },
  { id: 'pm_card_chargeDeclined', number: '4000 0000 0000 0002', outcome: 'Declined by the bank' },
  { id: 'pm_card_chargeDeclinedInsufficientFunds', number: '4000 0000 0000 9995', outcome: 'Declined: insufficient funds' },
  { id: 'pm_card_authenticationRequired', number: '4000 0027 6000 3184', outcome: 'Asks for 3-D Secure' },
] as const;

type Phase = { kind: 'ready' } | { kind: 'paying' } | { kind: 'challenge'; url: string } | { kind: 'unfinished'; url: string } | { kind: 'paid' };

export function TestCardForm({
  apiUrl,
  publishableKey,
  paymentIntentId,
  clientSecret,
  amountLabel,
  onPaid,
  onFailed,
}: {
  apiUrl: string;
  publishableKey: string;
  paymentIntentId: string;
  clientSecret: string;
  amountLabel: string;
  onPaid: () => void;
  onFailed: () => void;
}) {
  const api = useMemo(() => simulatorPayments(apiUrl, publishableKey), [apiUrl, publishableKey]);
  const [card, setCard] = useState<string>(TEST_CARDS[0].id);
  const [phase, setPhase] = useState<Phase>({ kind: 'ready' });
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  /** What the intent's state means for the form. */
  const settle = useCallback(
    (answer: IntentAnswer, fromChallenge: boolean) => {
      if (!answer.ok) {
        const intent = answer.error.payment_intent;
        // Paid already (a second click, another tab): nothing to do but wait for the order.
        if (intent?.status === 'succeeded') {
          setPhase({ kind: 'paid' });
          onPaid();
          return;
        }
        setError(
          intent?.status === 'canceled'
            ? 'This order can no longer be paid.'
            : `${describePaymentError({ code: answer.error.code, declineCode: answer.error.decline_code, message: answer.error.message })} ${TRY_AGAIN}`,
        );
        setPhase({ kind: 'ready' });
        onFailed();
        return;
      }
      const intent = answer.intent;
      const challenge = challengeUrlOf(intent);
      if (intent.status === 'succeeded' || intent.status === 'processing') {
        setPhase({ kind: 'paid' });
        onPaid();
      } else if (challenge) {
        setPhase({ kind: fromChallenge ? 'unfinished' : 'challenge', url: challenge });
      } else if (intent.status === 'requires_payment_method' && intent.last_payment_error) {
        const e = intent.last_payment_error;
        setError(`${describePaymentError({ code: e.code, declineCode: e.decline_code, message: e.message })} ${TRY_AGAIN}`);
        setPhase({ kind: 'ready' });
        onFailed();
      } else if (intent.status === 'canceled') {
        setError('This order can no longer be paid.');
        setPhase({ kind: 'ready' });
      } else {
        setPhase({ kind: 'ready' });
      }
    },
    [onPaid, onFailed],
  );

  // After a reload: a payment already made, or a 3-D Secure check left open, is picked up where it was.
  useEffect(() => {
    let live = true;
    api.retrieve(paymentIntentId, clientSecret).then(
      (answer) => {
        if (!live || !answer.ok) return;
        const challenge = challengeUrlOf(answer.intent);
        if (challenge) setPhase({ kind: 'unfinished', url: challenge });
        else if (answer.intent.status === 'succeeded') {
          setPhase({ kind: 'paid' });
          onPaid();
        }
      },
      () => undefined, // the form works without it
    );
    return () => {
      live = false;
    };
  }, [api, paymentIntentId, clientSecret, onPaid]);

  async function pay(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (busy.current || phase.kind === 'paid') return;
    busy.current = true;
    setError(null);
    setPhase({ kind: 'paying' });
    try {
      settle(await api.confirm(paymentIntentId, clientSecret, card), false);
    } catch {
      setError('Could not reach the payment service. Check your connection and try again; you will not be charged twice.');
      setPhase({ kind: 'ready' });
    } finally {
      busy.current = false;
    }
  }

  const checkAfterChallenge = useCallback(() => {
    api.retrieve(paymentIntentId, clientSecret).then(
      (answer) => settle(answer, true),
      () => setError('Could not reach the payment service to check the 3-D Secure result. Try again in a moment.'),
    );
  }, [api, paymentIntentId, clientSecret, settle]);

  const stillWaiting = useCallback(
    async () => {
      const answer = await api.retrieve(paymentIntentId, clientSecret);
      return answer.ok && answer.intent.status === 'requires_action';
    },
    [api, paymentIntentId, clientSecret],
  );

  if (phase.kind === 'paid') {
    return (
      <p role="status" className="success" data-testid="payment-status">
        Payment accepted. Confirming your order with the bank’s answer…
      </p>
    );
  }

  return (
    <form onSubmit={(e) => void pay(e)} className="test-card-form" aria-describedby="test-mode-banner">
      <p id="test-mode-banner" className="test-mode" data-testid="test-mode-banner">
        <strong>Test mode.</strong> Payments go to the local payment simulator; no real card is charged. Pick one of Stripe’s test cards.
      </p>
      <fieldset disabled={phase.kind === 'paying' || phase.kind === 'challenge'}>
        <legend>Test card</legend>
        {TEST_CARDS.map((c) => (
          <div key={c.id} className="radio">
            <input type="radio" id={`card-${c.id}`} name="test-card" value={c.id} checked={card === c.id} onChange={() => setCard(c.id)} />
            <label htmlFor={`card-${c.id}`}>
              <span className="card-number">{c.number}</span> <span className="card-outcome">{c.outcome}</span>
            </label>
          </div>
        ))}
      </fieldset>
      {error && (
        <p role="alert" className="error" data-testid="payment-error">
          {error}
        </p>
      )}
      {phase.kind === 'unfinished' && (
        <p className="hint" role="status">
          Your bank’s 3-D Secure check is not finished.{' '}
          <button type="button" className="button" onClick={() => setPhase({ kind: 'challenge', url: phase.url })}>
            Finish the 3-D Secure check
          </button>
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={phase.kind === 'paying' || phase.kind === 'challenge'}>
        {phase.kind === 'paying' ? 'Paying…' : `Pay ${amountLabel}`}
      </button>
      {phase.kind === 'challenge' && (
        <ThreeDSecureDialog
          url={phase.url}
          onAnswered={checkAfterChallenge}
          onClose={() => setPhase({ kind: 'unfinished', url: phase.url })}
          stillWaiting={stillWaiting}
        />
      )}
    </form>
  );
}
