/**
 * Slows password guessing at the console's sign-in: failed attempts are
 * counted in Redis per client and in total, in fixed windows; while either
 * count is at its limit, sign-in is refused (even with the right password, or
 * the refusal would reveal it) until the window ends.
 *
 * The client is the first X-Forwarded-For address (Next fills it in from the
 * socket when a request has none). A client can forge it to get a fresh
 * per-client count, which is why the total count exists: whatever the
 * addresses, no more than `total` guesses per window reach the password check.
 * The price is that a flood of wrong guesses can hold sign-in shut for a
 * window; sessions already open keep working.
 */
import type { Redis } from 'ioredis';

export interface ThrottleLimits {
  perClient: number;
  total: number;
  windowMs: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { perClient: 10, total: 100, windowMs: 15 * 60_000 };

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface LoginThrottle {
  check(client: string): Promise<ThrottleVerdict>;
  recordFailure(client: string): Promise<void>;
}

// INCR and the expiry in one step: a counter can never be left without one (which would lock sign-in for good).
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** A client key from a header value: an address-like token, bounded, never free text in a Redis key. */
export function clientKey(forwardedFor: string | null | undefined): string {
  const first = forwardedFor?.split(',', 1)[0]?.trim() ?? '';
  const cleaned = first.replace(/[^0-9A-Za-z:._-]/g, '').slice(0, 64);
  return cleaned || 'unknown';
}

export function createLoginThrottle(redis: Redis, prefix: string, limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS): LoginThrottle {
  const keys = (client: string) => [`${prefix}:admin-sign-in:client:${client}`, `${prefix}:admin-sign-in:total`] as const;
  return {
    async check(client) {
      const [clientCount, totalCount] = keys(client);
      const pipeline = redis.multi().get(clientCount).pttl(clientCount).get(totalCount).pttl(totalCount);
      const replies = (await pipeline.exec()) ?? [];
      const value = (i: number) => Number(replies[i]?.[1] ?? 0) || 0;
      const waits: number[] = [];
      if (value(0) >= limits.perClient) waits.push(value(1));
      if (value(2) >= limits.total) waits.push(value(3));
      if (waits.length === 0) return { allowed: true };
      return { allowed: false, retryAfterMs: Math.max(1_000, ...waits) };
    },
    async recordFailure(client) {
      for (const key of keys(client)) await redis.eval(INCREMENT, 1, key, String(limits.windowMs));
    },
  };
}
