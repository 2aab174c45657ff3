import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '@/server/api/root';
import { createHttpContext, httpResponseMeta } from '@/server/api/trpc';
import { withRequestScope } from '@/server/observability/request-scope';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const handler = withRequestScope((req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    // One request may not fan out into unbounded work (the client batches at most this many).
    maxBatchSize: 20,
    // The storefront sends queries as POST too: their inputs are capabilities
    // (cart id, order access token) that must not end up in URLs and access logs.
    allowMethodOverride: true,
    createContext: createHttpContext,
    responseMeta: httpResponseMeta,
  }),
);

export { handler as GET, handler as POST };
