'use client';
/** The React side: one QueryClient and one tRPC client per browser tab. */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, splitLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import type { AppRouter } from '../server/api/root';
import { busyRetryLink } from './busy-retry';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { staleTime: 2_000, retry: 1 } } }));
  // POST for queries too: every input carries a capability (cart id, access token), kept out of URLs.
  // A long wait (orders.waitForChange) travels alone: in a batch, every call
  // beside it would be answered only when it is, and it could not be aborted
  // on its own.
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        // A call refused because the shop is at capacity is sent again shortly.
        busyRetryLink(),
        splitLink({
          condition: (op) => op.path === 'orders.waitForChange',
          true: httpLink({ url: '/api/trpc', methodOverride: 'POST' }),
          false: httpBatchLink({ url: '/api/trpc', maxItems: 20, methodOverride: 'POST' }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
