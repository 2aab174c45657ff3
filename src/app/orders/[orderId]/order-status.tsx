'use client';
/**
 * The order as its owner sees it, live: where it is, what happens next, the
 * hold's countdown, the payment step while it can be paid, and the journey
 * so far. It polls (react-query) with a back-off that depends on how long
 * ago the order last changed (_lib/polling.ts), pauses in a hidden tab and
 * stops once nothing can change any more; paying or the hold running out
 * makes it look again at once.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import type { PaymentMode } from '../../../server/payments/payment-mode';
import { CANCELLABLE_STATES } from '../../../server/orders/states';
import { useTRPC } from '../../../trpc/react';
import { clearAttempt } from '../../_storefront/checkout-attempt';
import { nextPollDelay, POLL } from '../../_lib/polling';
import { closeReasonLine, nextStepFor, STATE_NAMES, type OrderView } from '../../_lib/order-words';
import { formatMoney } from '../../format';
import { HoldCountdown } from './hold-countdown';
import { OrderJourney } from './order-journey';
import { PaymentStep } from './_payment/payment-step';

/** What, when it changes, counts as the order having moved (for the polling back-off). */
const signature = (o: OrderView | undefined) =>
  o ? `${o.state}|${o.history.length}|${o.paymentEvents.map((e) => e.outcome).join(',')}|${o.payment.lastError?.code ?? ''}` : '';

function useLiveOrder(orderId: string, accessToken: string) {
  const trpc = useTRPC();
  const changedAt = useRef(Date.now());
  const order = useQuery({
    ...trpc.orders.get.queryOptions({ orderId, accessToken }),
    refetchInterval: (q) => (q.state.data ? nextPollDelay(q.state.data.state, Date.now() - changedAt.current) : POLL.fastMs),
    // A wrong link stays wrong: no retries for a 4xx.
    retry: (count, err) => count < 3 && !(err.data?.httpStatus && err.data.httpStatus < 500),
  });
  const sig = signature(order.data);
  useEffect(() => {
    changedAt.current = Date.now();
  }, [sig]);
  const { refetch } = order;
  /** Something is about to change (a payment, the hold ending): look often again. */
  const hurry = useCallback(() => {
    changedAt.current = Date.now();
    void refetch();
  }, [refetch]);
  return { order, hurry };
}

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
  const queryClient = useQueryClient();
  const { order, hurry } = useLiveOrder(orderId, accessToken);
  const cancel = useMutation(
    trpc.orders.cancel.mutationOptions({
      onSuccess: () => {
        hurry();
        return queryClient.invalidateQueries({ queryKey: trpc.orders.get.queryKey() });
      },
    }),
  );

  if (order.error) {
    return (
      <p role="alert" className="error" data-testid="order-error">
        {order.error.data?.code === 'NOT_FOUND' || order.error.data?.code === 'BAD_REQUEST'
          ? 'Order not found. Check that you opened the whole link you got when you placed the order.'
          : `We could not load your order just now (${order.error.message}). This page will keep trying.`}
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
        {o.state === 'PAYMENT_PENDING' && o.holdExpiresAt && <HoldCountdown expiresAt={o.holdExpiresAt} clockOffsetMs={clockOffsetMs} onElapsed={hurry} />}
      </section>

      {payable && (
        <PaymentStep
          mode={payment}
          paymentIntentId={o.payment.paymentIntentId ?? ''}
          clientSecret={o.payment.clientSecret ?? ''}
          amountLabel={formatMoney(o.totalMinor, o.currency)}
          onPaid={hurry}
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
