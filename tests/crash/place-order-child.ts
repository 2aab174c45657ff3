/**
 * placeOrder as the web app runs it (reserving and asking for the
 * PaymentIntent at placement), in a process of its own so that a crash point
 * in it (CRASH_AT) kills a real process: the crash tests start it, and it
 * dies there or prints the answer and exits.
 *
 * Env: the suite's (MONGODB_URI, REDIS_URL, STRIPE_*), QUEUE_PREFIX, and
 * PLACE_ORDER: JSON { cartId, key, customer }.
 */
import { Redis } from 'ioredis';
import { connectMongo, disconnectMongo } from '../../prisma-free-models';
import { placeOrder } from '../../src/server/orders/place-order';
import { createStripeClient } from '../../src/server/payments/stripe-client';
import { createOrderQueues } from '../../src/server/queue/queues';
import { env, suiteOrderLimits } from '../helpers';

async function main(): Promise<void> {
  const { cartId, key, customer } = JSON.parse(env('PLACE_ORDER')) as { cartId: string; key: string; customer: Parameters<typeof placeOrder>[0]['customer'] };
  await connectMongo(env('MONGODB_URI'));
  const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: 2 });
  const queues = createOrderQueues(redis, env('QUEUE_PREFIX'));
  const stripe = createStripeClient({
    STRIPE_SECRET_KEY: env('STRIPE_SECRET_KEY'),
    STRIPE_API_HOST: env('STRIPE_API_HOST'),
    STRIPE_API_PORT: Number(env('STRIPE_API_PORT')),
    STRIPE_API_PROTOCOL: 'http',
  });
  const deps = { enqueuer: queues.enqueuer, stripe, currency: 'inr', holdTimeMs: 15 * 60_000, orderLimits: suiteOrderLimits };
  try {
    const placed = await placeOrder({ cartId, customer, idempotencyKey: key }, { ...deps, reserveAtPlacement: true, paymentAtPlacement: { timeoutMs: 5_000 } });
    process.stdout.write(`${JSON.stringify({ placed })}\n`);
  } finally {
    await queues.close();
    redis.disconnect();
    await disconnectMongo();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
