/** Queue depths over time, read from BullMQ (a few Redis commands per queue), for the report's chart. */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAMES } from '../../src/server/queue/queues';

export class QueueDepths {
  private readonly connection: Redis;
  private readonly queues: Queue[];
  readonly series: { t: number; waiting: Record<string, number> }[] = [];
  private busy = false;

  constructor(redisUrl: string, prefix: string) {
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.connection.on('error', () => undefined); // a drill may restart Redis: a missed sample, not a crash
    this.queues = Object.values(QUEUE_NAMES).map((name) => new Queue(name, { connection: this.connection, prefix }));
  }

  /** Jobs waiting + active + delayed per queue; skipped while the previous read is still going. */
  async sample(t: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const counts = await Promise.all(this.queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
      this.series.push({
        t,
        waiting: Object.fromEntries(this.queues.map((q, i) => [q.name, Object.values(counts[i] ?? {}).reduce((a, b) => a + b, 0)])),
      });
    } catch {
      // not sampled this time
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close().catch(() => undefined)));
    this.connection.disconnect();
  }
}
