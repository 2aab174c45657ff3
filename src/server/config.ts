/**
 * Environment, parsed once with zod. Every process (web app, worker, scripts)
 * reads configuration through getConfig(); a missing or malformed variable
 * stops the process with one message naming it.
 *
 * Parsing is lazy so that `next build` (which imports route modules) does not
 * need the runtime environment.
 */
import { z } from 'zod';
import { parseAddressRanges } from './abuse/client-address';
import { LIMITS } from './validation';

const port = z.coerce.number().int().min(1).max(65535);

const schema = z
  .object({
    APP_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: port.default(4000),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/.+/, 'must be a mongodb:// or mongodb+srv:// URI')
      .default('mongodb://127.0.0.1:27017/orders'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'letters, digits, - and _ only (max 40)')
      .default('orders'),
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must look like sk_test_… or sk_live_…'),
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9_]+$/, 'must look like whsec_…'),
    /**
     * The key the customer's browser uses with Stripe.js (Payment Element).
     * Read at run time by the server and handed to the order page, so one
     * build serves any key. Never with STRIPE_API_HOST: the simulator has a
     * card form of its own (payments/payment-mode.ts).
     */
    NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: z
      .string()
      .regex(/^pk_(test|live)_[A-Za-z0-9_]+$/, 'must look like pk_test_… or pk_live_…')
      .optional(),
    /** Set only for the local payment simulator or stripe-mock; unset means api.stripe.com. */
    STRIPE_API_HOST: z.string().min(1).max(200).optional(),
    STRIPE_API_PORT: port.optional(),
    STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),
    CURRENCY: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code such as INR')
      .transform((c) => c.toLowerCase())
      .default('inr'),
    /** How long a reservation waits for payment before it is released. */
    HOLD_TIME_MS: z.coerce.number().int().min(1_000).max(7 * 24 * 3600_000).default(15 * 60_000),
    /**
     * How long placeOrder waits for Stripe's PaymentIntent of the order it has
     * just reserved, so its answer is payable; past it (or on any failure) the
     * payment job asks instead. 0: placeOrder never asks, the job always does.
     */
    PAYMENT_AT_PLACEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
    /** How often the reconciler runs, and how long an order may sit in a step before it re-drives it. */
    RECONCILE_INTERVAL_MS: z.coerce.number().int().min(200).max(3600_000).default(30_000),
    STUCK_AFTER_MS: z.coerce.number().int().min(500).max(24 * 3600_000).default(60_000),
    /** How long placeOrder idempotency keys are kept (at least Stripe's 24 hours). */
    IDEMPOTENCY_KEY_TTL_MS: z.coerce.number().int().min(24 * 3600_000).default(24 * 3600_000),
    /** How long a product keeps a sale record after the order copied it: the window in which no stale step can sell that line again. */
    SALE_RECORD_TTL_MS: z.coerce.number().int().min(60_000).max(7 * 24 * 3600_000).default(30 * 60_000),
    /** BullMQ job lock and stalled-job check; see worker/index.ts. */
    WORKER_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
    WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(15_000),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** The worker's own HTTP port: /health, /ready, /metrics; 0 turns it off. */
    WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    /** When set, the metrics endpoints (web and worker) answer only `Authorization: Bearer <token>`. */
    METRICS_TOKEN: z.string().regex(/^[\x21-\x7e]{16,200}$/, 'must be 16 to 200 printable characters without spaces').optional(),
    // Limits and abuse (see src/server/abuse/ and the README's "Limits and abuse").
    /** How many proxies in front of the web app append to X-Forwarded-For; 0 trusts no header. */
    TRUSTED_PROXIES: z.coerce.number().int().min(0).max(10).default(0),
    /** The window every rate limit counts in. */
    RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    /** Calls per window: any procedure per client address; placeOrder per client address; calls naming one cart; placeOrder per customer email. */
    RATE_LIMIT_IP: z.coerce.number().int().min(1).max(10_000_000).default(600),
    RATE_LIMIT_IP_ORDERS: z.coerce.number().int().min(1).max(10_000_000).default(20),
    RATE_LIMIT_CART: z.coerce.number().int().min(1).max(10_000_000).default(120),
    RATE_LIMIT_EMAIL_ORDERS: z.coerce.number().int().min(1).max(10_000_000).default(10),
    /**
     * Client addresses the per-address limits skip (addresses or CIDR ranges,
     * comma-separated; `none` for none). Unset: loopback outside production,
     * none in production.
     */
    RATE_LIMIT_EXEMPT_IPS: z.string().max(2000).optional(),
    /** Per order: units of one product, and distinct products. */
    MAX_QTY_PER_SKU: z.coerce.number().int().min(1).max(LIMITS.maxQty).default(5),
    MAX_LINES_PER_ORDER: z.coerce.number().int().min(1).max(LIMITS.maxLines).default(20),
    /** Orders one customer (normalised email) may have unpaid and open at once. */
    MAX_UNPAID_ORDERS_PER_CUSTOMER: z.coerce.number().int().min(1).max(1000).default(3),
    /** At or below this many units, the storefront says "only a few left" instead of "in stock". */
    LOW_STOCK_THRESHOLD: z.coerce.number().int().min(0).max(1_000_000).default(5),
    /** Callers one web process keeps waiting in orders.waitForChange; beyond it they are answered at once (and poll). */
    ORDER_WAITERS_MAX: z.coerce.number().int().min(0).max(1_000_000).default(5_000),
    /**
     * API calls one web process runs at once, calls that may wait for a turn,
     * and how long one may wait; beyond, a call is answered 503 BUSY with a
     * Retry-After, having done nothing (src/server/http/admission.ts).
     * Few run at once: a call spends a few ms of CPU between short database
     * waits, so 8 keep one process's thread busy; more only share it, and
     * the later purchase steps no longer go first (README, Admission).
     */
    API_MAX_RUNNING_CALLS: z.coerce.number().int().min(1).max(100_000).default(8),
    API_MAX_WAITING_CALLS: z.coerce.number().int().min(0).max(1_000_000).default(5_000),
    API_MAX_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
    /**
     * How old a product read by carts and the checkout may be in a web process
     * (name, price, withdrawn, visible stock; never what decides a hold): 0 reads
     * the database every time (src/server/catalog/product-reads.ts).
     */
    CATALOG_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(250),
    /** The largest request body /api/trpc reads. */
    TRPC_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
    /** Carts untouched this long, and webhook events processed this long ago, are deleted. */
    CART_RETENTION_MS: z.coerce.number().int().min(3600_000).default(7 * 24 * 3600_000),
    WEBHOOK_EVENT_RETENTION_MS: z.coerce.number().int().min(7 * 24 * 3600_000).default(30 * 24 * 3600_000),
    /**
     * How often the maintenance job runs its searches of stored documents (the
     * idempotency-key purge, the cart and webhook-event retention purges), at
     * most, across all workers. Every other part of a pass reads keyed lists only.
     */
    HOUSEKEEPING_INTERVAL_MS: z.coerce.number().int().min(1000).max(24 * 3600_000).default(3600_000),
    /**
     * The operator console (/admin). Its password, as an scrypt hash
     * (`npm run --silent admin:hash-password`, see src/server/admin/credentials.ts)
     * or in clear; in development and test without either, the web app
     * generates one at start (.data/admin-password). Production requires one.
     */
    ADMIN_PASSWORD_HASH: z
      .string()
      .regex(/^scrypt:\d{1,2}:\d{1,2}:\d{1,2}:[A-Za-z0-9_-]{16,64}:[A-Za-z0-9_-]{32,128}$/, 'must be an scrypt:… hash from `npm run admin:hash-password`')
      .optional(),
    ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(200).optional(),
    /** How long an operator stays signed in (absolute, from sign-in). */
    ADMIN_SESSION_TTL_MS: z.coerce.number().int().min(60_000).max(7 * 24 * 3600_000).default(8 * 3600_000),
    /** `off` serves no console at all (every admin route answers 404), and then needs no password. */
    ADMIN_CONSOLE: z.enum(['on', 'off']).default('on'),
  })
  .superRefine((env, ctx) => {
    // The simulator is a development and test tool: production must talk to Stripe itself.
    if (env.APP_ENV === 'production' && env.STRIPE_API_HOST) {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_API_HOST'], message: 'must not be set when APP_ENV=production' });
    }
    if (env.STRIPE_SECRET_KEY.startsWith('sk_live_') && env.APP_ENV !== 'production') {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_SECRET_KEY'], message: 'a live key is only accepted with APP_ENV=production' });
    }
    if (env.RATE_LIMIT_EXEMPT_IPS !== undefined) {
      try {
        parseAddressRanges(env.RATE_LIMIT_EXEMPT_IPS);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['RATE_LIMIT_EXEMPT_IPS'], message: `${(err as Error).message} (comma-separated addresses or CIDR ranges, or none)` });
      }
    }
    // No default password in production: the console must be given one, or be switched off.
    if (env.APP_ENV === 'production' && env.ADMIN_CONSOLE === 'on' && !env.ADMIN_PASSWORD_HASH && !env.ADMIN_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD_HASH'], message: 'is required when APP_ENV=production (or set ADMIN_CONSOLE=off)' });
    }
    if (env.ADMIN_PASSWORD_HASH && env.ADMIN_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'must not be set together with ADMIN_PASSWORD_HASH (keep only the hash)' });
    }
    const publishable = env.NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY;
    if (publishable && env.STRIPE_API_HOST) {
      // Stripe.js would confirm at Stripe an intent that was created somewhere else.
      ctx.addIssue({
        code: 'custom',
        path: ['NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY'],
        message: 'must not be set with STRIPE_API_HOST (Stripe.js talks to Stripe itself; the simulator has its own test card form)',
      });
    }
    if (publishable && publishable.startsWith('pk_live_') !== /^(sk|rk)_live_/.test(env.STRIPE_SECRET_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY'], message: 'must be of the same mode (test or live) as STRIPE_SECRET_KEY' });
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an environment; throws ConfigError naming every bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as unset, as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const name = i.path.join('.') || '(environment)';
      const problem = i.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : i.message;
      return `${name} ${problem}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  return result.data;
}

let cached: Config | undefined;

export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** For long-running entry points: print the problem once and exit instead of a stack trace. */
export function loadConfigOrExit(): Config {
  try {
    return getConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
