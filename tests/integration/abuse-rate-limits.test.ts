/**
 * Rate limits over real HTTP and Redis: two web processes of their own that
 * count in one set of Redis counters, clients on distinct loopback addresses.
 * Every test uses addresses, carts and emails of its own, so the counters of
 * one test never meet another's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cart } from '../../prisma-free-models';
import { newCartId } from '../../src/server/ids';
import { cartWith, customer, newKey, seedProduct, trpcFailure } from '../helpers';
import { clientFrom, fetchFrom, LIMITS_APP_PORTS, newClientAddress, startLimitsApps, type LimitsApps } from './limits-app';

const WINDOW_S = 60;
const PER_ADDRESS = 30;
const PER_CART = 8;
const PER_EMAIL_ORDERS = 3;

let apps: LimitsApps;
const url = (i = 0) => apps.urls[i]!;

beforeAll(async () => {
  apps = await startLimitsApps('rate-limits', LIMITS_APP_PORTS, {
    RATE_LIMIT_EXEMPT_IPS: 'none',
    RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_S),
    RATE_LIMIT_IP: String(PER_ADDRESS),
    RATE_LIMIT_IP_ORDERS: String(PER_ADDRESS),
    RATE_LIMIT_CART: String(PER_CART),
    RATE_LIMIT_EMAIL_ORDERS: String(PER_EMAIL_ORDERS),
  });
});

afterAll(async () => {
  await apps?.stop();
});

async function storedCart(sku: string): Promise<string> {
  const cart = await Cart.create({ _id: newCartId(), lines: [{ sku, qty: 1 }] });
  return cart._id;
}

/** GET catalog.list from an address: the HTTP status and Retry-After. */
async function listFrom(address: string, app = 0, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null }> {
  const res = await fetchFrom(address)(`${url(app)}/api/trpc/catalog.list`, { headers });
  await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

describe('rate limits', () => {
  it('throttles one client with 429 and Retry-After while another is served; a forged X-Forwarded-For does not help', async () => {
    const greedy = newClientAddress();
    const other = newClientAddress();
    for (let i = 0; i < PER_ADDRESS; i++) expect((await listFrom(greedy)).status).toBe(200);

    const refused = await listFrom(greedy);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(WINDOW_S);
    // No proxy is trusted (TRUSTED_PROXIES=0): the header is the client's own claim.
    expect((await listFrom(greedy, 0, { 'x-forwarded-for': other })).status).toBe(429);
    expect((await listFrom(other)).status).toBe(200);

    const err = await trpcFailure(clientFrom(url(), greedy).catalog.list.query());
    expect(err.data?.httpStatus).toBe(429);
    expect(err.data?.domainCode).toBe('RATE_LIMITED');
    expect(err.data?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err.message).toMatch(`at most ${PER_ADDRESS} per ${WINDOW_S} s`);
  });

  it('counts across web processes: one limit for calls spread over two of them', async () => {
    const client = newClientAddress();
    for (let i = 0; i < PER_ADDRESS; i++) expect((await listFrom(client, i % 2)).status).toBe(200);
    expect((await listFrom(client, 0)).status).toBe(429);
    expect((await listFrom(client, 1)).status).toBe(429);
  });

  it('counts each call of a batch', async () => {
    const client = newClientAddress();
    // At most 20 calls per request (maxBatchSize), so two requests: 20, then 15.
    const batch = async (n: number) => {
      const paths = Array.from({ length: n }, () => 'catalog.list').join(',');
      const input = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, null]))));
      const res = await fetchFrom(client)(`${url()}/api/trpc/${paths}?batch=1&input=${input}`);
      return (await res.json()) as { error?: { data?: { httpStatus?: number } } }[];
    };
    const answers = [...(await batch(20)), ...(await batch(15))];
    expect(answers).toHaveLength(35);
    expect(answers.filter((a) => !a.error)).toHaveLength(PER_ADDRESS);
    expect(answers.filter((a) => a.error?.data?.httpStatus === 429)).toHaveLength(35 - PER_ADDRESS);
  });

  it('limits calls per cart, whoever makes them, and leaves other carts alone', async () => {
    const sku = await seedProduct(10);
    // Written directly: built through the suite's app, the carts would already have calls counted.
    const [cartA, cartB] = [await storedCart(sku), await storedCart(sku)];
    const [one, two] = [newClientAddress(), newClientAddress()];
    for (let i = 0; i < PER_CART; i++) await clientFrom(url(i % 2), i % 2 ? one : two).cart.get.query({ cartId: cartA });

    const err = await trpcFailure(clientFrom(url(), newClientAddress()).cart.get.query({ cartId: cartA }));
    expect(err.data?.httpStatus).toBe(429);
    expect(err.data?.field).toBe('cartId');
    expect(err.message).toMatch(`requests for this cart: at most ${PER_CART} per ${WINDOW_S} s`);
    expect((await clientFrom(url(), one).cart.get.query({ cartId: cartB })).cartId).toBe(cartB);
  });

  it('limits orders per customer email, however the address is spelled', async () => {
    const sku = await seedProduct(20);
    const spellings = ['hoarder.rl@example.com', 'Hoarder.RL+2@Example.com', 'hoarder.rl+3@example.com', 'HOARDER.RL@example.com'];
    const address = newClientAddress();
    const place = (email: string) =>
      cartWith([{ sku, qty: 1 }]).then((cartId) => clientFrom(url(), address, { 'Idempotency-Key': newKey() }).checkout.placeOrder.mutate({ cartId, customer: { ...customer, email } }));
    for (const email of spellings.slice(0, PER_EMAIL_ORDERS)) expect((await place(email)).state).toBe('PAYMENT_PENDING');

    const err = await trpcFailure(place(spellings[PER_EMAIL_ORDERS]!));
    expect(err.data?.httpStatus).toBe(429);
    expect(err.data?.field).toBe('customer.email');
    expect(err.message).toMatch(`orders for this email address: at most ${PER_EMAIL_ORDERS} per ${WINDOW_S} s`);
    // Another customer from the same address is not affected.
    expect((await place('someone.else.rl@example.com')).state).toBe('PAYMENT_PENDING');
  });
});
