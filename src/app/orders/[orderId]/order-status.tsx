'use client';
/** The order as its owner sees it, refreshed until it reaches a final state. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../../../trpc/react';
import { formatMoney } from '../../format';

const FINAL = new Set(['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH', 'CANCELLED', 'EXPIRED']);
const CANCELLABLE = new Set(['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING']);

export function OrderStatus({ orderId, accessToken }: { orderId: string; accessToken: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const cancel = useMutation(
    trpc.orders.cancel.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.orders.get.queryKey() }),
    }),
  );
  const order = useQuery({
    ...trpc.orders.get.queryOptions({ orderId, accessToken }),
    refetchInterval: (q) => (q.state.data && FINAL.has(q.state.data.state) ? false : 1_000),
  });
  if (order.error) return <p role="alert" data-testid="order-error">{order.error.message}</p>;
  if (!order.data) return <p>Loading…</p>;
  const o = order.data;
  return (
    <>
      <p>
        State: <strong data-testid="order-state">{o.state}</strong>
      </p>
      {o.rejection && <p>Rejected: {o.rejection.reason === 'OUT_OF_STOCK' ? `${o.rejection.sku} is sold out` : o.rejection.reason}</p>}
      {o.closeReason && <p data-testid="close-reason">{o.closeReason}</p>}
      {o.payment.lastError && <p>Last payment attempt failed: {o.payment.lastError.message}</p>}
      {o.holdExpiresAt && o.state === 'PAYMENT_PENDING' && <p>Your items are held until {new Date(o.holdExpiresAt).toLocaleTimeString()}.</p>}
      {CANCELLABLE.has(o.state) && (
        <button disabled={cancel.isPending} onClick={() => cancel.mutate({ orderId, accessToken })}>
          Cancel order
        </button>
      )}
      {cancel.error && <p role="alert">{cancel.error.message}</p>}
      {o.state === 'PAYMENT_PENDING' && <p>Awaiting payment for PaymentIntent {o.payment.paymentIntentId}.</p>}
      <ul>
        {o.lines.map((l) => (
          <li key={l.sku}>
            {l.qty} × {l.name} = {formatMoney(l.lineTotalMinor, o.currency)}
          </li>
        ))}
      </ul>
      <p>Total: {formatMoney(o.totalMinor, o.currency)}</p>
      <h3>History</h3>
      <ol>
        {o.history.map((h) => (
          <li key={`${h.to}-${h.at}`}>
            {h.at}: {h.from ?? '—'} → {h.to} ({h.action})
          </li>
        ))}
      </ol>
    </>
  );
}
