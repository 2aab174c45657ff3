/**
 * The payment simulator's control API (`/_sim`), as the load driver uses it:
 * pay as the customer, set the webhook switches for a scenario (and put the
 * previous ones back after), flush held deliveries, and read what it did —
 * the delivery attempts (how fast and whether the webhook route answered) and
 * the PaymentIntents per order (nothing may be charged twice).
 */
import type { DeliveryAttemptRow } from '../../src/payment-simulator/types';
import type { LiteFetch } from './http-client';

export interface PayOutcome {
  ok: boolean;
  status: number;
  message: string;
}

export type { DeliveryAttemptRow };

export interface SimPaymentIntent {
  id: string;
  status: string;
  amount: number;
  metadata: Record<string, string>;
}

/** The switches a scenario may set (see src/payment-simulator/config.ts). */
export interface SimSwitches {
  duplicate?: number;
  reorder?: boolean;
  hold?: boolean;
  delayMs?: number;
  asyncDelayMs?: number;
  /** Every API answer this long after its work: Stripe's own round trip. */
  apiLatencyMs?: number;
}

async function control<T>(simUrl: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${simUrl}/_sim${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`simulator ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** Pays as the customer, with the run's HTTP client. */
export async function paySimulated(http: LiteFetch, simUrl: string, paymentIntentId: string, paymentMethod: string): Promise<PayOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await http(`${simUrl}/_sim/payment_intents/${encodeURIComponent(paymentIntentId)}/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ paymentMethod }),
      });
      const text = await res.text();
      return { ok: res.ok, status: res.status, message: res.ok ? 'paid' : text.slice(0, 200) };
    } catch (err) {
      // The simulator restarting (its state is on disk): try again a few times.
      if (attempt >= 5) return { ok: false, status: 0, message: (err as Error).message };
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

export const simConfig = (simUrl: string) => control<Record<string, unknown>>(simUrl, 'GET', '/config');
export const configureSim = (simUrl: string, patch: Record<string, unknown>) => control<Record<string, unknown>>(simUrl, 'POST', '/config', patch);
export const flushSim = (simUrl: string) => control<{ delivered: number }>(simUrl, 'POST', '/flush');
export const settleSim = (simUrl: string, timeoutMs: number) =>
  control<{ settled: boolean }>(simUrl, 'POST', `/settle?timeoutMs=${timeoutMs}`);

/** Delivery attempts since `since`; null when this simulator predates the endpoint. */
export async function deliveryAttempts(simUrl: string, since: Date): Promise<DeliveryAttemptRow[] | null> {
  const res = await fetch(`${simUrl}/_sim/deliveries?since=${since.getTime()}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`simulator GET /deliveries: HTTP ${res.status}`);
  return (await res.json()) as DeliveryAttemptRow[];
}

export const paymentIntents = (simUrl: string) => control<SimPaymentIntent[]>(simUrl, 'GET', '/payment_intents');

/** The switches `patch` changes, as they were: what to put back after the run. */
export function previousSwitches(current: Record<string, unknown>, patch: SimSwitches): Record<string, unknown> {
  return Object.fromEntries(Object.keys(patch).map((k) => [k, current[k]]));
}
