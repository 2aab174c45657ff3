/**
 * One buyer, as the storefront drives it: create a cart with its line (the
 * storefront's first add, one call), placeOrder with an Idempotency-Key,
 * wait for the decision (held or sold out), pay at the payment simulator,
 * wait for CONFIRMED. Measures
 *   decision_ms   placeOrder sent → the order is known held or rejected
 *   confirm_ms    payment accepted by the simulator → CONFIRMED seen
 *   e2e_ms        cart created → CONFIRMED (or REJECTED) seen
 * A request that fails in transport (connection refused or reset, a
 * non-tRPC answer while a web process restarts) is retried with the same
 * Idempotency-Key, as a real client would, and counted; a buyer that cannot
 * finish within its deadline is an error.
 */
import { randomUUID } from 'node:crypto';
import { TRPCClientError } from '@trpc/client';
import { createOrdersClient, isBusyError } from '../../src/trpc/client';
import { followOrder, seenOf, type SeenOrder } from '../../src/trpc/follow-order';
import { asClientFetch, type LiteFetch } from './http-client';
import type { Recorder } from './recorder';
import { paySimulated, type PayOutcome } from './simulator';

/**
 * A customer of their own per buyer, as on a real sale: one email for all
 * would be one customer, held to MAX_UNPAID_ORDERS_PER_CUSTOMER and the
 * per-email rate limit. `tag` keeps runs apart.
 */
export const customerFor = (tag: string, n: number) => ({
  name: 'Load Buyer',
  email: `buyer-${tag.toLowerCase()}-${n}@load.example.com`,
  address: { line1: '1 Test Street', city: 'Mumbai', state: 'Maharashtra', postalCode: '400001', country: 'IN' },
});

const HELD = new Set(['INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED']);
const FINAL_STATES: SeenOrder['state'][] = ['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH', 'CANCELLED', 'EXPIRED'];
const FINAL = new Set<string>(FINAL_STATES);

export interface BuyerPlan {
  sku: string;
  appUrl: string;
  simUrl: string;
  /** The run's HTTP client (http-client.ts), shared by its buyers. */
  http: LiteFetch;
  /** How often to ask for the order's state while waiting. */
  pollMs: number;
  /** Extra placeOrder calls with the same key (a client that did not see the answer). */
  repeats: number;
  /** Send the repeats at the same time as the first call instead of after it. */
  concurrentRepeats: boolean;
  /** Pay when held (false: stop at the decision). */
  pay: boolean;
  /** Try a declined card first, then a good one (two payment events per order). */
  declineFirst: boolean;
  /** Give up (an error) after this long. */
  deadlineMs: number;
  /** The run was interrupted: stop waiting. */
  signal?: AbortSignal;
}

export interface BuyerResult {
  buyer: number;
  key: string;
  orderId: string | null;
  accessToken: string | null;
  /** Every orderId the key's placeOrder calls answered with: more than one is a broken promise. */
  orderIdsForKey: string[];
  state: string;
}

class BuyerGaveUp extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True for a failure of the transport, not an answer of the API (which is never retried blindly). */
export function isTransportFailure(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return err instanceof TypeError; // fetch failed
  if (isBusyError(err)) return false; // an answer: the client already retried it for as long as it may
  const data = (err as TRPCClientError<never>).data as { httpStatus?: number } | undefined;
  // No tRPC shape: connection refused/reset, or an HTML 5xx while a process restarts.
  return data === undefined || data === null || data.httpStatus === 502 || data.httpStatus === 503;
}

/** The message with its causes ("fetch failed ← connect ECONNREFUSED ..."): undici hides the reason one level down. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
  }
  return parts.join(' ← ') || String(err);
}

/** `started` gets the buyer's result object at once; it is filled in as the buyer goes. */
export async function runBuyer(index: number, plan: BuyerPlan, rec: Recorder, started: (r: BuyerResult) => void = () => undefined): Promise<BuyerResult> {
  const key = `load-${randomUUID()}`;
  // A call the server refuses as busy (admission) is sent again by the client about a second later,
  // as a storefront's would, for as long as the buyer's deadline leaves; each retry is counted.
  const api = createOrdersClient(plan.appUrl, {
    headers: () => ({ 'Idempotency-Key': key }),
    busy: { retries: Math.ceil(plan.deadlineMs / 1000), onRetry: () => rec.count('busy_retries') },
    fetch: asClientFetch(plan.http),
  });
  const deadline = performance.now() + plan.deadlineMs;
  const result: BuyerResult = { buyer: index, key, orderId: null, accessToken: null, orderIdsForKey: [], state: 'arrived' };
  started(result);
  const setState = (state: string) => {
    result.state = state;
    rec.setBuyerState(index, state);
  };
  setState('arrived');
  rec.count('arrivals');

  // Retries transport failures until the deadline; each retry is counted.
  const call = async <T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!isTransportFailure(err)) throw err;
        rec.error('connection_errors', `${what}: ${describeError(err)}`);
        if (performance.now() > deadline || plan.signal?.aborted) throw new BuyerGaveUp(`${what}: gave up after ${attempt + 1} attempts`);
        rec.count('request_retries');
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  };

  try {
    const t0 = rec.now();
    // A retried create may leave a cart of the first attempt unused: the retention purge takes it.
    const { cartId } = await call('cart.createWithLines', () => api.cart.createWithLines.mutate({ lines: [{ sku: plan.sku, qty: 1 }] }));

    setState('placing');
    const tPlace = rec.now();
    const customer = customerFor(plan.sku, index);
    const place = () => call('checkout.placeOrder', () => api.checkout.placeOrder.mutate({ cartId, customer }));
    let placed: Awaited<ReturnType<typeof place>>;
    if (plan.concurrentRepeats && plan.repeats > 0) {
      const all = await Promise.all(Array.from({ length: plan.repeats + 1 }, place));
      placed = all[0] as (typeof all)[number];
      result.orderIdsForKey.push(...all.map((p) => p.orderId));
    } else {
      placed = await place();
      result.orderIdsForKey.push(placed.orderId);
      for (let i = 0; i < plan.repeats; i++) result.orderIdsForKey.push((await place()).orderId);
    }
    rec.trend('place_order_ms', rec.now() - tPlace);
    rec.count('orders_placed');
    result.orderId = placed.orderId;
    result.accessToken = placed.accessToken;
    const owner = { orderId: placed.orderId, accessToken: placed.accessToken };

    // As the order page does: long-lived orders.waitForChange calls woken by
    // the order's transitions (followOrder), not a poll every pollMs. The page
    // reads the order once and then only waits: so does the buyer, from the
    // second wait on (after paying) passing the order as last seen.
    let lastSeen: SeenOrder | undefined;
    const waitFor = async (done: (state: string) => boolean, until?: SeenOrder['state'][]) => {
      let last = 'unknown';
      const view = await call('orders.waitForChange', () =>
        followOrder(
          api,
          owner,
          (v) => {
            last = v.state;
            setState(v.state);
            return done(v.state) || plan.signal?.aborted === true;
          },
          {
            timeoutMs: Math.max(1, deadline - performance.now()),
            waitMs: 10_000,
            pollMs: plan.pollMs,
            ...(lastSeen ? { seen: lastSeen } : {}),
            ...(until ? { until } : {}),
          },
        ).catch((err: unknown) => {
          // followOrder's own deadline; anything else is the call's error.
          if (err instanceof Error && !isTransportFailure(err) && /did not get there in time/.test(err.message)) {
            throw new BuyerGaveUp(`order ${placed.orderId} still ${last} at the deadline`);
          }
          throw err;
        }),
      );
      if (!done(view.state)) throw new BuyerGaveUp(`order ${placed.orderId} still ${view.state} when the run was interrupted`);
      lastSeen = seenOf(view);
      return view;
    };

    // placeOrder's answer carries the decision when the order was reserved (or rejected) as it was placed.
    const decided = (s: string) => HELD.has(s) || FINAL.has(s);
    const decision = decided(placed.state) ? placed.state : (await waitFor(decided)).state;
    setState(decision);
    rec.trend('decision_ms', rec.now() - tPlace);
    rec.count(HELD.has(decision) ? 'held' : 'sold_out');
    if (!HELD.has(decision) || !plan.pay) {
      if (!HELD.has(decision)) rec.trend('e2e_ms', rec.now() - t0);
      return result;
    }

    // placeOrder's answer is payable when the PaymentIntent was asked for as it
    // was placed; else the buyer waits for it. The wait after paying names the
    // states it waits for, so the order as seen needs no history length.
    if (placed.payment) lastSeen = { state: placed.state, historyLength: 0 };
    const payable = placed.payment ?? (await waitFor((s) => s !== 'INVENTORY_RESERVED')).payment;
    const intentId = payable.paymentIntentId;
    if (intentId && lastSeen?.state === 'PAYMENT_PENDING') {
      if (plan.declineFirst) {
        const declined = await paySimulated(plan.http, plan.simUrl, intentId, 'pm_card_chargeDeclined');
        if (declined.ok) rec.error('buyer_errors', `order ${placed.orderId}: the declined card was accepted`);
      }
      const paid: PayOutcome = await paySimulated(plan.http, plan.simUrl, intentId, 'pm_card_visa');
      if (!paid.ok) throw new Error(`pay ${intentId}: ${paid.message}`);
    }
    const tPaid = rec.now();
    rec.count('paid');
    // Not woken at PAID on the way: one call answers when the order settles.
    const view = await waitFor((s) => FINAL.has(s), FINAL_STATES);
    if (view.state === 'CONFIRMED') {
      rec.trend('confirm_ms', rec.now() - tPaid);
      rec.trend('e2e_ms', rec.now() - t0);
      rec.count('confirmed');
    } else {
      rec.error('buyer_errors', `order ${placed.orderId} paid but ended ${view.state}`);
    }
    return result;
  } catch (err) {
    rec.error('buyer_errors', err instanceof BuyerGaveUp ? err.message : describeError(err));
    setState('failed');
    return result;
  }
}

