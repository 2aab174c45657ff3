/**
 * The load suite's baseline (load/README.md): the least any accepting request
 * can do on this stack — one insert into MongoDB and one enqueue on BullMQ,
 * through the same Next route machinery, connection and Redis client as
 * placeOrder. The driver compares placeOrder's throughput with this one's.
 *
 * Off unless LOAD_BASELINE_ROUTE=1, and never in production (404 either way):
 * it writes on request and has no auth. What it writes goes to its own
 * collection and queue (nothing consumes it); the driver removes both after
 * measuring.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import mongoose from 'mongoose';
import { NextResponse } from 'next/server';
import { getConfig } from '@/server/config';
import { withRequestScope } from '@/server/observability/request-scope';
import { getRuntime } from '@/server/runtime';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Shared with the driver, which cleans up after itself. */
const COLLECTION = 'load_baseline';
const QUEUE = 'load-baseline';

let queue: Queue | undefined;

export const POST = withRequestScope(async (): Promise<NextResponse> => {
  if (process.env.LOAD_BASELINE_ROUTE !== '1' || getConfig().APP_ENV === 'production') {
    return NextResponse.json({ error: 'Not found' }, { status: 404 });
  }
  const { config, redis } = await getRuntime();
  queue ??= new Queue(QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  const id = `bl_${randomBytes(12).toString('hex')}`;
  await mongoose.connection.collection<{ _id: string; at: Date }>(COLLECTION).insertOne({ _id: id, at: new Date() });
  await queue.add('baseline', { id }, { jobId: id });
  return NextResponse.json({ id });
});
