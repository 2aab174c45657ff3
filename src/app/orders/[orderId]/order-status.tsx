'use client';
/**
 * The order as its owner sees it, live: where it is, what happens next, the
 * hold's countdown, the payment step while it can be paid, and the journey
 * so far. It follows the order with long waits that the server answers the
 * moment the order moves (use-live-order.ts, order-follower.ts), polls on a
 * back-off only while waiting fails, pauses in a hidden tab and stops once
 * nothing can change any more; paying, a failed attempt or the hold running
 * out makes it look again at once.
 */
import { useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { PaymentMode } from '../../../server/payments/payment-mode';
import { CANCELLABLE_STATES } from '../../../server/orders/states';
import { useTRPC } from '../../../trpc/react';
import { clearAttempt } from '../../_storefront/checkout-attempt';
import { closeReasonLine, nextStepFor, STATE_NAMES } from '../../_lib/order-words';
import { formatMoney } from '../../format';
import { HoldCountdown } from './hold-countdown';
import { OrderJourney } from './order-journey';
import { PaymentStep } from './_payment/payment-step';
import { useLiveOrder } from './use-live-order';

export function OrderStatus({
  orderId,
  accessToken,
  tokenInUrl,
  payment,
}: {
  orderId: string;
  accessToken: string | null;
  tokenInUrl: boolean;
  payment: PaymentMode;
}) {
  useEffect(() => {
    // The token is in a cookie now (middleware.ts): take it out of the address bar and the history.
    if (tokenInUrl) window.history.replaceState(null, '', `/orders/${orderId}`);
    // Reaching an order page ends this tab's checkout attempt.
    clearAttempt();
  }, [orderId, tokenInUrl]);

  if (!accessToken) {
    return (
      <p role="alert" className="error" data-testid="order-error">
        To see this order, open the link you got when you placed it.
      </p>
    );
  }
  return <LiveOrder orderId={orderId} accessToken={accessToken} payment={payment} />;
}

function LiveOrder({ orderId, accessToken, payment }: { orderId: string; accessToken: string; payment: PaymentMode }) {
  const trpc = useTRPC();
  const { order, trouble, refusal, refresh, attemptFailed } = useLiveOrder(orderId, accessToken);
  // The cancel's answer has no payment events: the page reads the whole view instead.
  const cancel = useMutation(trpc.orders.cancel.mutationOptions({ onSuccess: refresh }));

  if (refusal || (order.error && !order.data)) {
    const notFound = refusal !== null || order.error?.data?.code === 'NOT_FOUND' || order.error?.data?.code === 'BAD_REQUEST';
    return (
      <p role="alert" className="error" data-testid="order-error">
        {notFound
          ? 'Order not found. Check that you opened the whole link you got when you placed the order.'
          : `We could not load your order just now (${order.error?.message ?? 'no answer'}). This page will keep trying.`}
      </p>
    );
  }
  if (!order.data) return <p role="status">Loading your order…</p>;
  const o = order.data;
  const next = nextStepFor(o);
  const reason = closeReasonLine(o);
  const clockOffsetMs = new Date(o.serverTime).getTime() - order.dataUpdatedAt;
  const payable = o.state === 'PAYMENT_PENDING' && o.payment.clientSecret && o.payment.paymentIntentId;

  return (
    <div className="order">
      <section className="panel order-summary" aria-labelledby="order-state-heading">
        <h2 id="order-state-heading" className="visually-hidden">
          Status
        </h2>
        <p className={`state-badge state-${o.state.toLowerCase()}`} data-testid="order-state" data-state={o.state}>
          {STATE_NAMES[o.state]}
        </p>
        <div data-testid="next-step" aria-live="polite">
          <p className="next-title">{next.title}</p>
          <p className="next-detail">{next.detail}</p>
        </div>
        {reason && (
          <p className="hint" data-testid="close-reason">
            {reason}
          </p>
        )}
        {o.state === 'PAYMENT_PENDING' && o.holdExpiresAt && <HoldCountdown expiresAt={o.holdExpiresAt} clockOffsetMs={clockOffsetMs} onElapsed={refresh} />}
        {trouble && (
          <p role="status" className="hint" data-testid="order-reconnecting">
            We cannot reach the shop just now; this page keeps trying and shows changes once it can.
          </p>
        )}
      </section>

      {payable && (
        <PaymentStep
          mode={payment}
          paymentIntentId={o.payment.paymentIntentId ?? ''}
          clientSecret={o.payment.clientSecret ?? ''}
          amountLabel={formatMoney(o.totalMinor, o.currency)}
          onPaid={refresh}
          onFailed={attemptFailed}
        />
      )}

      <section className="panel" aria-labelledby="items-heading">
        <h2 id="items-heading">Items</h2>
        <ul className="order-lines">
          {o.lines.map((l) => (
            <li key={l.sku}>
              <span>
                {l.qty} × {l.name}
              </span>
              <span>{formatMoney(l.lineTotalMinor, o.currency)}</span>
            </li>
          ))}
        </ul>
        <p className="cart-total">
          Total: <strong data-testid="order-total">{formatMoney(o.totalMinor, o.currency)}</strong>
        </p>
        <p className="hint">
          Delivering to {o.customer.name}; receipt to {o.customer.email}.
        </p>
        {CANCELLABLE_STATES.includes(o.state) && (
          <button type="button" className="button" disabled={cancel.isPending} onClick={() => cancel.mutate({ orderId, accessToken })}>
            Cancel order
          </button>
        )}
        {cancel.error && (
          <p role="alert" className="error">
            {cancel.error.message}
          </p>
        )}
      </section>

      <section className="panel" aria-labelledby="journey-heading">
        <h2 id="journey-heading">Order journey</h2>
        <OrderJourney order={o} />
      </section>
    </div>
  );
}
