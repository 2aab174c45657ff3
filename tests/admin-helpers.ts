/** Helpers for the operator console's tests: signing in over HTTP, an admin client, orders in the states the console deals with. */
import { Order } from '../prisma-free-models';
import { createOrdersClient } from '../src/trpc/client';
import { api, appUrl, cartWith, customer, env, getOrder, newKey, sim, waitForState } from './helpers';

export const adminPassword = () => env('ADMIN_PASSWORD');

export async function signInResponse(password: string, client?: string): Promise<Response> {
  return fetch(`${appUrl()}/api/admin/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(client ? { 'x-forwarded-for': client } : {}) },
    body: JSON.stringify({ password }),
  });
}

/** Signs in as an operator; the `Cookie` header value that carries the session. */
export async function operatorCookie(): Promise<string> {
  const res = await signInResponse(adminPassword());
  if (res.status !== 200) throw new Error(`operator sign-in failed: HTTP ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const pair = setCookie.split(';', 1)[0] ?? '';
  if (!pair.startsWith('admin_session=')) throw new Error(`no session cookie in ${setCookie}`);
  return pair;
}

/** The typed client, as an operator (the session cookie on every call). */
export function adminApi(cookie: string) {
  return createOrdersClient(appUrl(), { headers: () => ({ cookie }) }).admin;
}

/** An order placed through the API and taken to PAYMENT_PENDING by the suite's worker. */
export async function payableOrder(sku: string, email = customer.email) {
  const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku, qty: 1 }]), customer: { ...customer, email } });
  const order = await waitForState(placed.orderId, ['PAYMENT_PENDING'], 30_000);
  return { ...placed, order };
}

/**
 * A PAYMENT_MISMATCH order, made by the real pipeline: the order's total
 * diverges from its PaymentIntent's amount (as in failure-paths.test.ts),
 * then the PaymentIntent is paid and the signed webhook does the rest.
 */
export async function mismatchedOrder(sku: string, email = customer.email) {
  const { orderId, accessToken, order } = await payableOrder(sku, email);
  await Order.updateOne({ _id: orderId }, { $inc: { totalMinor: 100 } });
  await sim.pay(order.paymentIntentId!);
  await waitForState(orderId, ['PAYMENT_MISMATCH'], 30_000);
  return { orderId, accessToken, order: await getOrder(orderId) };
}
