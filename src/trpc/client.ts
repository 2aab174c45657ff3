/**
 * A typed client for other TypeScript apps (and tests):
 *   const api = createOrdersClient('http://localhost:4000');
 *   await api.checkout.placeOrder.mutate(input, ...)
 * Only the AppRouter type is imported: no server code reaches the client.
 *
 * Other packages import it as `resilient-orders/client` (package.json
 * "exports"; built by `npm run build:client` into dist/client/, see the
 * README's "Typed client" and examples/typed-client/).
 */
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/api/root';
import { busyRetryLink, type BusyRetryOptions } from './busy-retry';

export { TRPCClientError, isTRPCClientError } from '@trpc/client';
export { followOrder, type FollowOrderOptions } from './follow-order';
export { isBusyError, type BusyRetryOptions } from './busy-retry';
export type { AppRouter };
/** What each procedure takes and returns, e.g. `OrdersApiOutputs['orders']['get']['state']`. */
export type OrdersApiInputs = inferRouterInputs<AppRouter>;
export type OrdersApiOutputs = inferRouterOutputs<AppRouter>;

export interface OrdersClientOptions {
  /** Extra headers per request, e.g. { 'Idempotency-Key': key }. */
  headers?: () => Record<string, string>;
  /** Calls the server refuses as busy are sent again (see busy-retry.ts); `{ retries: 0 }` turns that off. */
  busy?: BusyRetryOptions;
  /** The fetch to send requests with (default: the global fetch). */
  fetch?: ClientFetch;
}

export type ClientFetch = NonNullable<Parameters<typeof httpLink>[0]['fetch']>;

export type OrdersClient = TRPCClient<AppRouter>;

export function createOrdersClient(baseUrl: string, opts: OrdersClientOptions = {}): OrdersClient {
  return createTRPCClient<AppRouter>({
    links: [busyRetryLink(opts.busy), httpLink({ url: `${baseUrl.replace(/\/$/, '')}/api/trpc`, headers: opts.headers ?? (() => ({})), ...(opts.fetch ? { fetch: opts.fetch } : {}) })],
  });
}
