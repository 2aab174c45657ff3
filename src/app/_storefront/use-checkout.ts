'use client';
/**
 * Placing the order, safe against double clicks, retries and reloads: every
 * send of one attempt carries the attempt's idempotency key (checkout-attempt.ts),
 * a second click while one is in flight does nothing, and a page that
 * (re)loads with an attempt still open sends it again — the server answers
 * with the order the first send created, or creates it now if that send
 * never arrived — and goes to the order.
 */
import { useMutation } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CustomerInput } from '../../server/validation';
import { useTRPC } from '../../trpc/react';
import { attemptFor, clearAttempt, loadAttempt, type CheckoutAttempt } from './checkout-attempt';
import { fieldErrorsFrom, type FieldErrors } from './field-errors';

export const CUSTOMER_FIELDS = [
  'customer.name',
  'customer.email',
  'customer.address.line1',
  'customer.address.line2',
  'customer.address.city',
  'customer.address.state',
  'customer.address.postalCode',
  'customer.address.country',
] as const;

export interface CheckoutErrors {
  fields: FieldErrors;
  other: string | null;
}

/** The server looked at the request and said no: nothing was created, so the next try is a new attempt. */
function refusedForGood(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return false;
  const status = (err.data as { httpStatus?: number } | undefined)?.httpStatus ?? 0;
  return status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429;
}

export function useCheckout(onPlaced: () => void) {
  const trpc = useTRPC();
  const router = useRouter();
  const [errors, setErrors] = useState<CheckoutErrors>({ fields: {}, other: null });
  const [resuming, setResuming] = useState(false);
  const inFlight = useRef(false);
  const placeOrder = useMutation(trpc.checkout.placeOrder.mutationOptions());

  const send = useCallback(
    async (attempt: CheckoutAttempt) => {
      if (inFlight.current) return;
      inFlight.current = true;
      setErrors({ fields: {}, other: null });
      try {
        const placed = await placeOrder.mutateAsync(attempt);
        onPlaced();
        // The token rides in this first URL only; the order page moves it into a cookie.
        router.push(`/orders/${placed.orderId}?token=${encodeURIComponent(placed.accessToken)}`);
      } catch (err) {
        if (refusedForGood(err)) clearAttempt();
        // No data: the server never answered (offline, timeout), so the attempt stays open for a retry.
        const data = err instanceof TRPCClientError ? (err.data as { field?: string | null } | undefined) : undefined;
        const message = data && err instanceof Error ? err.message : 'Could not reach the shop. Check your connection and try again: the order will not be placed twice.';
        setErrors(fieldErrorsFrom({ message, data }, CUSTOMER_FIELDS));
        inFlight.current = false;
        setResuming(false);
      }
    },
    [onPlaced, placeOrder, router],
  );

  // A reload (or a crash of the tab) while an attempt was open: finish it, once, on load.
  const resumed = useRef(false);
  useEffect(() => {
    const open = loadAttempt();
    if (open && !resumed.current) {
      resumed.current = true;
      setResuming(true);
      void send(open);
    }
  }, [send]);

  const submit = useCallback((cartId: string, customer: CustomerInput) => void send(attemptFor(cartId, customer)), [send]);

  // What the open attempt sent, to show in the form again after a reload.
  const [savedCustomer] = useState(() => loadAttempt()?.customer ?? null);

  return { submit, errors, pending: placeOrder.isPending || resuming, resuming, savedCustomer };
}
