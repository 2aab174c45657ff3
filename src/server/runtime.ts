/**
 * Process-wide wiring: configuration, the MongoDB connection, Redis, the
 * queues and the Stripe client, created once on first use. Used by the web
 * app's transports; the worker builds its own (it also needs Workers).
 */
import { Redis } from 'ioredis';
import { connectMongo, ensureIndexes } from '../../prisma-free-models';
import { orderLimitsFrom } from './abuse/order-caps';
import { createRateLimiter, rateLimitSettings, type RateLimiter } from './abuse/rate-limits';
import { keepProductReadsFor } from './catalog/product-reads';
import { Admission, outsideAdmission } from './http/admission';
import { countAdmission } from './metrics/domain-metrics';
import { getConfig, type Config } from './config';
import type { Deps } from './deps';
import { logger } from './logger';
import { paymentAtPlacementFrom } from './orders/place-order';
import { createOrderWaiters, redisOrderChangePublisher, type OrderWaiters } from './orders/order-changes';
import { announceTransitionsWith } from './orders/state-machine';
import { createStripeClient } from './payments/stripe-client';
import { createOrderQueues, type OrderQueues } from './queue/queues';

export interface Runtime {
  config: Config;
  deps: Deps;
  queues: OrderQueues;
  redis: Redis;
  rateLimiter: RateLimiter;
  /** How many API calls this process runs at once (see http/admission.ts). */
  admission: Admission;
  /** Callers of orders.waitForChange in this process, woken through one subscriber connection. */
  orderWaiters: OrderWaiters;
}

/** Redis for producers: fail fast instead of queueing commands while Redis is away. */
export function createProducerRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5_000 });
}

export async function createRuntime(config: Config): Promise<Runtime> {
  await connectMongo(config.MONGODB_URI);
  await ensureIndexes();
  // Every buyer of a sale reads the same product; the hold itself always reads the database.
  keepProductReadsFor(config.CATALOG_CACHE_MS);
  const redis = createProducerRedis(config.REDIS_URL);
  const queues = createOrderQueues(redis, config.QUEUE_PREFIX);
  // A checkout waiting on Stripe holds no admission slot meanwhile.
  const stripe = createStripeClient(config, outsideAdmission);
  const orderChanges = redisOrderChangePublisher(redis);
  // The web app changes orders too (placeOrder's rejection, cancel, the console's refund).
  announceTransitionsWith(orderChanges);
  return {
    config,
    queues,
    redis,
    rateLimiter: createRateLimiter(redis, rateLimitSettings(config)),
    admission: new Admission(
      { maxRunning: config.API_MAX_RUNNING_CALLS, maxQueued: config.API_MAX_WAITING_CALLS, maxWaitMs: config.API_MAX_WAIT_MS },
      countAdmission,
    ),
    orderWaiters: createOrderWaiters(new Redis(config.REDIS_URL, { connectTimeout: 5_000 }), config.ORDER_WAITERS_MAX),
    deps: {
      enqueuer: queues.enqueuer,
      stripe,
      currency: config.CURRENCY,
      holdTimeMs: config.HOLD_TIME_MS,
      orderLimits: orderLimitsFrom(config),
      orderChanges,
      // The checkout answers with the decision (held or sold out) when it can.
      reserveAtPlacement: true,
      // ...and, when it was held, a payable one (the PaymentIntent asked for here, the job as the fallback).
      ...paymentAtPlacementFrom(config),
    },
  };
}

let shared: Promise<Runtime> | undefined;

export function getRuntime(): Promise<Runtime> {
  if (!shared) {
    shared = createRuntime(getConfig());
    // A failed start (database not up yet) must not be cached forever.
    shared.catch((err: unknown) => {
      logger.error({ err }, 'runtime start failed');
      shared = undefined;
    });
  }
  return shared;
}
