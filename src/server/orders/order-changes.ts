/**
 * Order change notifications: after each applied transition the state
 * machine says "order <id> moved" on Redis pub/sub (channel `order:<id>`);
 * a web process with callers waiting for that order (orders.waitForChange,
 * wait-for-change.ts) wakes them.
 *
 * A notification is a hint, never data: publishing is best effort (a lost
 * message only delays a waiter until its timeout, when it reads the order
 * anyway), and a woken waiter re-reads the order from MongoDB by _id.
 */
import type { Redis } from 'ioredis';
import { logger } from '../logger';

const CHANNEL_PREFIX = 'order:';

export const orderChannel = (orderId: string): string => `${CHANNEL_PREFIX}${orderId}`;

/** Tells whoever waits that the order changed; never throws, never waits. */
export type OrderChangePublisher = (orderId: string) => void;

export function redisOrderChangePublisher(redis: Redis): OrderChangePublisher {
  return (orderId) => {
    redis.publish(orderChannel(orderId), '1').catch((err: unknown) => {
      // Waiters fall back to their timeout; the order itself is already written.
      logger.debug({ orderId, err: (err as Error).message }, 'order change not published');
    });
  };
}

export interface OrderWaiters {
  /**
   * Calls `wake` whenever the order is said to have changed, until the
   * returned function is called. Null when this process already holds its
   * maximum of waiters: the caller should answer at once.
   */
  register(orderId: string, wake: () => void): (() => void) | null;
  /**
   * Resolves once the subscription is active (a waiter registered before may
   * miss a message), or after at most `maxMs`.
   */
  ready(maxMs: number): Promise<void>;
  readonly size: number;
  close(): Promise<void>;
}

/**
 * The waiters of one process, woken through one subscriber connection (a
 * Redis connection in subscriber mode can do nothing else, hence its own).
 * One pattern subscription for every order rather than one SUBSCRIBE per
 * waiter: no round trip per wait, and no window between subscribing and
 * reading the order in which a change could slip by. Each process then
 * receives every order's notifications, a few short messages per order.
 * ioredis subscribes again by itself after a reconnection.
 */
export function createOrderWaiters(subscriber: Redis, maxWaiters: number): OrderWaiters {
  const byOrder = new Map<string, Set<() => void>>();
  let size = 0;
  let live = false;
  const subscribed = subscriber.psubscribe(`${CHANNEL_PREFIX}*`).then(() => {
    live = true;
  });
  subscribed.catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'order change subscription failed; waiters answer at their timeout'));
  subscriber.on('pmessage', (_pattern: string, channel: string) => {
    const wakes = byOrder.get(channel.slice(CHANNEL_PREFIX.length));
    if (wakes) for (const wake of [...wakes]) wake();
  });
  return {
    register(orderId, wake) {
      if (size >= maxWaiters) return null;
      let wakes = byOrder.get(orderId);
      if (!wakes) byOrder.set(orderId, (wakes = new Set()));
      wakes.add(wake);
      size += 1;
      let registered = true;
      return () => {
        if (!registered) return;
        registered = false;
        size -= 1;
        wakes.delete(wake);
        if (wakes.size === 0 && byOrder.get(orderId) === wakes) byOrder.delete(orderId);
      };
    },
    async ready(maxMs) {
      if (live) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([subscribed.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
      clearTimeout(timer);
    },
    get size() {
      return size;
    },
    async close() {
      subscriber.disconnect();
      await subscribed.catch(() => undefined);
    },
  };
}
