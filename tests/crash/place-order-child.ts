/**
 * placeOrder as the web app runs it (reserving and asking for the
 * PaymentIntent at placement), in a process of its own so that a crash point
 * in it (CRASH_AT) kills a real process: the crash tests start it, and it
 * dies there or prints the answer and exits.
 *
 * Env: the suite's (MONGODB_URI, REDIS_URL, STRIPE_*), QUEUE_PREFIX, and
 * PLACE_ORDER: JSON { cartId, key, customer }.
 */
import { connectMongo, disconnectMongo } from '../../prisma-free-models';
import { placeOrder } from '../../src/server/orders/place-order';
import { env, manualDeps } from '../helpers';

async function main(): Promise<void> {
  const { cartId, key, customer } = JSON.parse(env('PLACE_ORDER')) as { cartId: string; key: string; customer: Parameters<typeof placeOrder>[0]['customer'] };
  await connectMongo(env('MONGODB_URI'));
  const m = manualDeps(env('QUEUE_PREFIX'));
  try {
    const placed = await placeOrder({ cartId, customer, idempotencyKey: key }, { ...m.deps, reserveAtPlacement: true, paymentAtPlacement: { timeoutMs: 5_000 } });
    process.stdout.write(`${JSON.stringify({ placed })}\n`);
  } finally {
    // Not m.close(): it would empty the prefix's queues, which the test reads.
    await m.queues.close();
    m.redis.disconnect();
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
