/** Stripe webhooks: a thin adapter over receiveStripeWebhook (verify, record, enqueue); see server/http/api-handlers.ts. */
import { stripeWebhookHandler } from '@/server/http/api-handlers';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export { stripeWebhookHandler as POST };
