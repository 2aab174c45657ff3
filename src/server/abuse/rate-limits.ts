/**
 * Rate limits on the public API, counted in Redis so that every web process
 * shares one count (rate-limiter-flexible's atomic Redis counters, a fixed
 * window of RATE_LIMIT_WINDOW_SECONDS).
 *
 * Each call of a request counts, a batched call included, against:
 *   - its client address (RATE_LIMIT_IP), and placeOrder again against the
 *     address's order budget (RATE_LIMIT_IP_ORDERS);
 *   - the cart it names, if any (RATE_LIMIT_CART);
 *   - for placeOrder, the customer's normalised email (RATE_LIMIT_EMAIL_ORDERS).
 * A call over any limit is refused with RATE_LIMITED and the seconds until
 * that window ends; the transport answers 429 with Retry-After.
 *
 * Addresses in RATE_LIMIT_EXEMPT_IPS skip the per-address limits (never the
 * cart or email ones). Unset, that is loopback outside production, so a load
 * test or the test suite from this machine is counted per cart and customer
 * like anyone, but not throttled as one address; in production nothing is
 * exempt, because there loopback is usually the reverse proxy itself.
 *
 * If Redis fails, each process counts in its own memory instead
 * (insuranceLimiter): limits still hold, per process, until Redis is back.
 */
import { createHash } from 'node:crypto';
import type { BlockList } from 'node:net';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config';
import { DomainError } from '../errors';
import { logger } from '../logger';
import { addressBucket, inRanges, parseAddressRanges } from './client-address';
import { customerKey } from './customer-key';

/** The procedures that create an order, counted against the order budgets. */
const ORDER_PLACING = new Set(['checkout.placeOrder']);

export type RateLimitScope = 'address' | 'address-orders' | 'cart' | 'customer-orders';

export interface RateLimitSettings {
  windowSeconds: number;
  points: Record<RateLimitScope, number>;
  /** Client addresses the per-address limits skip. */
  exempt: BlockList;
  /** Namespace of the counters in Redis. */
  keyPrefix: string;
}

/** What a call is counted as. Null parts are not counted (an in-process call has no address). */
export interface RateLimitedCall {
  procedure: string;
  clientAddress: string | null;
  cartId: string | null;
  email: string | null;
}

export interface RateLimiter {
  /** Counts the call; throws RATE_LIMITED if it is over any of its limits. */
  check(call: RateLimitedCall): Promise<void>;
}

const LOOPBACK = '127.0.0.0/8,::1';

const hashed = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 24);

export function rateLimitSettings(config: Config): RateLimitSettings {
  return {
    windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    points: {
      address: config.RATE_LIMIT_IP,
      'address-orders': config.RATE_LIMIT_IP_ORDERS,
      cart: config.RATE_LIMIT_CART,
      'customer-orders': config.RATE_LIMIT_EMAIL_ORDERS,
    },
    exempt: parseAddressRanges(config.RATE_LIMIT_EXEMPT_IPS ?? (config.APP_ENV === 'production' ? 'none' : LOOPBACK)),
    keyPrefix: `${config.QUEUE_PREFIX}:rate`,
  };
}

const refusal: Record<RateLimitScope, { what: string; field?: string }> = {
  address: { what: 'requests from your network address' },
  'address-orders': { what: 'orders placed from your network address' },
  cart: { what: 'requests for this cart', field: 'cartId' },
  'customer-orders': { what: 'orders for this email address', field: 'customer.email' },
};

const CONNECT_WAIT_MS = 2_000;

/** Resolves once `redis` is ready, or after `ms` (or at once when it is not connecting). */
async function connected(redis: Redis, ms: number): Promise<void> {
  if (redis.status !== 'connecting' && redis.status !== 'connect') return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    onReady = resolve;
    timer = setTimeout(resolve, ms);
    redis.once('ready', onReady);
  }).finally(() => {
    clearTimeout(timer);
    if (onReady) redis.off('ready', onReady);
  });
}

export function createRateLimiter(redis: Redis, settings: RateLimitSettings): RateLimiter {
  const limiters = Object.fromEntries(
    (Object.keys(settings.points) as RateLimitScope[]).map((scope) => {
      const opts = { points: settings.points[scope], duration: settings.windowSeconds, keyPrefix: `${settings.keyPrefix}:${scope}` };
      const limiter = new RateLimiterRedis({
        ...opts,
        storeClient: redis,
        // Without Redis, count in this process rather than wait for it or let everything through.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(opts),
      });
      return [scope, limiter];
    }),
  ) as Record<RateLimitScope, RateLimiterRedis>;

  return {
    async check(call) {
      const counted: [RateLimitScope, string][] = [];
      if (call.clientAddress && !inRanges(settings.exempt, call.clientAddress)) {
        const bucket = addressBucket(call.clientAddress);
        counted.push(['address', bucket]);
        if (ORDER_PLACING.has(call.procedure)) counted.push(['address-orders', bucket]);
      }
      if (call.cartId) counted.push(['cart', call.cartId]);
      // Hashed: Redis keys are listed by operators, email addresses need not be.
      if (call.email && ORDER_PLACING.has(call.procedure)) counted.push(['customer-orders', hashed(customerKey(call.email))]);
      if (counted.length === 0) return;

      // A connection still being opened (a new process's first calls) is not a
      // Redis that failed: counted in memory, those calls would be missing from
      // the shared count for good. Wait for it briefly; only a Redis that stays
      // away falls back to the in-memory count.
      await connected(redis, CONNECT_WAIT_MS);
      const results = await Promise.allSettled(counted.map(([scope, key]) => limiters[scope].consume(key)));
      let worst: { scope: RateLimitScope; msBeforeNext: number } | null = null;
      results.forEach((result, i) => {
        const scope = counted[i]![0];
        if (result.status === 'fulfilled') return;
        if (result.reason instanceof RateLimiterRes) {
          if (!worst || result.reason.msBeforeNext > worst.msBeforeNext) worst = { scope, msBeforeNext: result.reason.msBeforeNext };
        } else {
          // Neither Redis nor the in-memory fallback answered: let the call through.
          logger.error({ err: result.reason as unknown, scope }, 'rate limit could not be counted');
        }
      });
      if (!worst) return;
      const { scope, msBeforeNext } = worst as { scope: RateLimitScope; msBeforeNext: number };
      const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
      logger.warn({ procedure: call.procedure, scope, retryAfterSeconds, outcome: 'refused' }, 'rate limited');
      const { what, field } = refusal[scope];
      throw new DomainError(
        'RATE_LIMITED',
        `Too many ${what}: at most ${settings.points[scope]} per ${settings.windowSeconds} s; retry in ${retryAfterSeconds} s`,
        { ...(field ? { field } : {}), limit: scope, retryAfterSeconds },
      );
    },
  };
}
