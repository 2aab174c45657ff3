/**
 * A typed client for other TypeScript apps (and tests):
 *   const api = createOrdersClient('http://localhost:4000');
 *   await api.checkout.placeOrder.mutate(input, ...)
 * Only the AppRouter type is imported: no server code reaches the client.
 */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../server/api/root';

export interface OrdersClientOptions {
  /** Extra headers per request, e.g. { 'Idempotency-Key': key }. */
  headers?: () => Record<string, string>;
}

export function createOrdersClient(baseUrl: string, opts: OrdersClientOptions = {}) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${baseUrl.replace(/\/$/, '')}/api/trpc`, headers: opts.headers ?? (() => ({})) })],
  });
}

export type OrdersClient = ReturnType<typeof createOrdersClient>;
