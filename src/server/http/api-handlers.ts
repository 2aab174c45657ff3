/**
 * The two API endpoints the hot path uses, as Fetch handlers (Request in,
 * Response out): tRPC at /api/trpc and Stripe's webhooks. Next's route files
 * export them, and in the production server the same functions also serve
 * these paths in front of Next's router (see fast-path.ts), so each exists once.
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from '../api/root';
import { createHttpContext, httpResponseMeta } from '../api/trpc';
import { timeApiRequest } from '../metrics/domain-metrics';
import { reportInternalError } from '../observability/internal-error';
import { withRequestScope } from '../observability/request-scope';
import { getRuntime } from '../runtime';
import { MAX_WEBHOOK_BYTES, receiveStripeWebhook } from '../webhooks/intake';
import { peekBoundedBody } from './bounded-body';

export const TRPC_ENDPOINT = '/api/trpc';
export const STRIPE_WEBHOOK_PATH = '/api/webhooks/stripe';

const trpc = withRequestScope((req: Request) =>
  fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
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

// Each delivery is a request of its own (its id in X-Request-Id, or a fresh
// one); the lines about the event carry its eventId as well, and so does every
// line of the job that processes it.
const stripeWebhook = withRequestScope(async (req: Request): Promise<Response> => {
  try {
    // The raw body, byte for byte: the signature is computed over it. At most
    // the limit is read, whatever Content-Length says or when there is none.
    const body = await peekBoundedBody(req, MAX_WEBHOOK_BYTES);
    if (!body.ok) return Response.json({ received: false, error: 'Payload too large' }, { status: 413 });
    const { deps, config } = await getRuntime();
    const result = await receiveStripeWebhook(body.text, req.headers.get('stripe-signature'), {
      ...deps,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET,
    });
    return Response.json(result.body, { status: result.status });
  } catch (err) {
    // 5xx so Stripe delivers again; nothing was acknowledged. The error's own
    // message stays in the log.
    return Response.json({ received: false, error: reportInternalError(err, 'webhook') }, { status: 500 });
  }
});

type Via = 'fast-path' | 'next';

function timed(endpoint: 'trpc' | 'webhook', via: Via, handler: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return async (req) => {
    const done = timeApiRequest(endpoint, via);
    try {
      return await handler(req);
    } finally {
      done();
    }
  };
}

/** The handlers as served by Next's route files. */
export const trpcHandler = timed('trpc', 'next', trpc);
export const stripeWebhookHandler = timed('webhook', 'next', stripeWebhook);

/** The same handlers as served in front of Next's router (fast-path.ts). */
export const fastPathHandlers = { trpc: timed('trpc', 'fast-path', trpc), webhook: timed('webhook', 'fast-path', stripeWebhook) };
