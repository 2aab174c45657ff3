/** Stripe webhooks: a thin adapter over receiveStripeWebhook (verify, record, enqueue). */
import { NextResponse } from 'next/server';
import { readBoundedBody } from '@/server/http/bounded-body';
import { reportInternalError } from '@/server/observability/internal-error';
import { withRequestScope } from '@/server/observability/request-scope';
import { getRuntime } from '@/server/runtime';
import { MAX_WEBHOOK_BYTES, receiveStripeWebhook } from '@/server/webhooks/intake';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

// Each delivery is a request of its own (its id in X-Request-Id, or a fresh
// one); the lines about the event carry its eventId as well, and so does every
// line of the job that processes it.
export const POST = withRequestScope(async (req: Request): Promise<NextResponse> => {
  try {
    // The raw body, byte for byte: the signature is computed over it. At most
    // the limit is read, whatever Content-Length says or when there is none.
    const body = await readBoundedBody(req, MAX_WEBHOOK_BYTES);
    if (!body.ok) return NextResponse.json({ received: false, error: 'Payload too large' }, { status: 413 });
    const { deps, config } = await getRuntime();
    const result = await receiveStripeWebhook(body.text, req.headers.get('stripe-signature'), {
      ...deps,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET,
    });
    return NextResponse.json(result.body, { status: result.status });
  } catch (err) {
    // 5xx so Stripe delivers again; nothing was acknowledged. The error's own
    // message stays in the log.
    return NextResponse.json({ received: false, error: reportInternalError(err, 'webhook') }, { status: 500 });
  }
});
