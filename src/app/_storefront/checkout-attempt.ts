/**
 * One checkout attempt, kept in this tab's sessionStorage from the moment
 * "Place order" is pressed until the server has answered for good: its
 * idempotency key and exactly what it sent. A double click, a retry after a
 * timeout and a reload mid-request all send the same key with the same
 * request, and the server answers all of them with the same order. A new key
 * is made only for a new request (other details, another cart), or after
 * the server refused the attempt (nothing was created, so nothing to find).
 */
import type { CustomerInput } from '../../server/validation';

const STORAGE_KEY = 'checkout.attempt';

export interface CheckoutAttempt {
  idempotencyKey: string;
  cartId: string;
  customer: CustomerInput;
}

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.sessionStorage;
  } catch {
    return null; // storage disabled: attempts then last as long as the page
  }
}

export function loadAttempt(): CheckoutAttempt | null {
  const raw = storage()?.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const a = JSON.parse(raw) as Partial<CheckoutAttempt>;
    return typeof a.idempotencyKey === 'string' && typeof a.cartId === 'string' && typeof a.customer === 'object' && a.customer
      ? (a as CheckoutAttempt)
      : null;
  } catch {
    return null;
  }
}

/** The attempt to send: the stored one if it is the same request, else a new one (stored before it is sent). */
export function attemptFor(cartId: string, customer: CustomerInput): CheckoutAttempt {
  const stored = loadAttempt();
  if (stored && stored.cartId === cartId && JSON.stringify(stored.customer) === JSON.stringify(customer)) return stored;
  const attempt = { idempotencyKey: `checkout-${crypto.randomUUID()}`, cartId, customer };
  storage()?.setItem(STORAGE_KEY, JSON.stringify(attempt));
  return attempt;
}

export function clearAttempt(): void {
  storage()?.removeItem(STORAGE_KEY);
}
