'use client';
/** "Refund" for a PAYMENT_MISMATCH order: asks once, calls admin.refundMismatch (idempotent), then re-renders the page. */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '../../trpc/react';

export function RefundButton({ orderId, amount }: { orderId: string; amount: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [confirming, setConfirming] = useState(false);
  const refund = useMutation(trpc.admin.refundMismatch.mutationOptions({ onSuccess: () => router.refresh() }));

  if (refund.data) {
    return (
      <p role="status" className="adm-notice" data-testid="refund-done">
        Refunded: {refund.data.refund.id}
      </p>
    );
  }
  return (
    <div>
      {refund.error && (
        <p role="alert" className="adm-alert">
          {refund.error.message}
        </p>
      )}
      {confirming ? (
        <p>
          Refund {amount} to the customer for order {orderId}?{' '}
          <button type="button" className="adm-danger" disabled={refund.isPending} onClick={() => refund.mutate({ orderId })}>
            {refund.isPending ? 'Refunding…' : 'Yes, refund'}
          </button>{' '}
          <button type="button" className="adm-secondary" disabled={refund.isPending} onClick={() => setConfirming(false)}>
            Keep for now
          </button>
        </p>
      ) : (
        <button type="button" className="adm-danger" onClick={() => setConfirming(true)} aria-label={`Refund order ${orderId}`}>
          Refund
        </button>
      )}
    </div>
  );
}
