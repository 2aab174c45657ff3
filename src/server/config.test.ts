import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';

const base = { STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' };

describe('configuration', () => {
  it('applies defaults', () => {
    const c = parseConfig(base);
    expect(c.PORT).toBe(4000);
    expect(c.CURRENCY).toBe('inr');
    expect(c.MONGODB_URI).toMatch(/^mongodb:\/\//);
  });

  it('names each missing or malformed variable in one message', () => {
    expect(() => parseConfig({})).toThrow(ConfigError);
    expect(() => parseConfig({})).toThrow(/STRIPE_SECRET_KEY is required.*STRIPE_WEBHOOK_SECRET is required/);
    expect(() => parseConfig({ ...base, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseConfig({ ...base, MONGODB_URI: 'postgres://x' })).toThrow(/MONGODB_URI must be a mongodb/);
    expect(() => parseConfig({ ...base, REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
    expect(() => parseConfig({ ...base, CURRENCY: 'rupees' })).toThrow(/CURRENCY/);
  });

  it('runs the worker HTTP port on 9464 unless told (0 turns it off), and takes a metrics token only if it is long enough', () => {
    expect(parseConfig(base).WORKER_HTTP_PORT).toBe(9464);
    expect(parseConfig({ ...base, WORKER_HTTP_PORT: '0' }).WORKER_HTTP_PORT).toBe(0);
    expect(() => parseConfig({ ...base, WORKER_HTTP_PORT: '70000' })).toThrow(/WORKER_HTTP_PORT/);
    expect(parseConfig(base).METRICS_TOKEN).toBeUndefined();
    expect(parseConfig({ ...base, METRICS_TOKEN: 'a-long-enough-token' }).METRICS_TOKEN).toBe('a-long-enough-token');
    expect(() => parseConfig({ ...base, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('never lets production talk to a simulator, nor development to a live key', () => {
    expect(() => parseConfig({ ...base, APP_ENV: 'production', STRIPE_API_HOST: '127.0.0.1' })).toThrow(/STRIPE_API_HOST/);
    expect(() => parseConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc' })).toThrow(/live key/);
  });

  it('limits: defaults, bounds, and exempt addresses that must parse', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({ TRUSTED_PROXIES: 0, MAX_QTY_PER_SKU: 5, MAX_UNPAID_ORDERS_PER_CUSTOMER: 3, LOW_STOCK_THRESHOLD: 5, RATE_LIMIT_IP: 600 });
    expect(c.RATE_LIMIT_EXEMPT_IPS).toBeUndefined();
    expect(() => parseConfig({ ...base, MAX_QTY_PER_SKU: '101' })).toThrow(/MAX_QTY_PER_SKU/);
    expect(() => parseConfig({ ...base, MAX_LINES_PER_ORDER: '0' })).toThrow(/MAX_LINES_PER_ORDER/);
    expect(() => parseConfig({ ...base, TRUSTED_PROXIES: '-1' })).toThrow(/TRUSTED_PROXIES/);
    expect(parseConfig({ ...base, RATE_LIMIT_EXEMPT_IPS: '10.0.0.0/8, 2001:db8::/32,192.0.2.7' }).RATE_LIMIT_EXEMPT_IPS).toBeDefined();
    expect(parseConfig({ ...base, RATE_LIMIT_EXEMPT_IPS: 'none' }).RATE_LIMIT_EXEMPT_IPS).toBe('none');
    expect(() => parseConfig({ ...base, RATE_LIMIT_EXEMPT_IPS: '10.0.0.0/33' })).toThrow(/RATE_LIMIT_EXEMPT_IPS "10.0.0.0\/33" is not/);
    expect(() => parseConfig({ ...base, RATE_LIMIT_EXEMPT_IPS: 'localhost' })).toThrow(/RATE_LIMIT_EXEMPT_IPS/);
  });
});

describe('operator console configuration', () => {
  const hash = 'scrypt:15:8:1:rphwYY5hOx1WT4K9G2HJKw:73Rp4HRIvkR2iqLB5CwgISBvYQhJbJdZyGqZdAtGZu8';

  it('has no default password in production: a hash or a password is required, unless the console is off', () => {
    expect(() => parseConfig({ ...base, APP_ENV: 'production' })).toThrow(/ADMIN_PASSWORD_HASH is required when APP_ENV=production/);
    expect(parseConfig({ ...base, APP_ENV: 'production', ADMIN_PASSWORD_HASH: hash }).ADMIN_PASSWORD_HASH).toBe(hash);
    expect(parseConfig({ ...base, APP_ENV: 'production', ADMIN_PASSWORD: 'a long enough password' }).ADMIN_PASSWORD).toBe('a long enough password');
    expect(parseConfig({ ...base, APP_ENV: 'production', ADMIN_CONSOLE: 'off' }).ADMIN_CONSOLE).toBe('off');
    // Development may leave it unset: the web app generates one (src/server/admin/credentials.ts).
    expect(parseConfig(base).ADMIN_PASSWORD_HASH).toBeUndefined();
  });

  it('refuses a malformed hash, a short password, and both at once', () => {
    expect(() => parseConfig({ ...base, ADMIN_PASSWORD_HASH: 'hunter2' })).toThrow(/ADMIN_PASSWORD_HASH must be an scrypt/);
    expect(() => parseConfig({ ...base, ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD must be at least 12/);
    expect(() => parseConfig({ ...base, ADMIN_PASSWORD_HASH: hash, ADMIN_PASSWORD: 'a long enough password' })).toThrow(/ADMIN_PASSWORD must not be set together/);
    expect(() => parseConfig({ ...base, ADMIN_SESSION_TTL_MS: '1000' })).toThrow(/ADMIN_SESSION_TTL_MS/);
  });
});

describe('the publishable key', () => {
  it('is optional, must look like one and must match the secret key’s mode', () => {
    expect(parseConfig(base).NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY).toBeUndefined();
    expect(parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' }).NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY).toBe('pk_test_abc');
    expect(() => parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'sk_test_abc' })).toThrow(/NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY must look like pk_test_/);
    expect(() => parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_live_abc' })).toThrow(/same mode/);
    const live = { APP_ENV: 'production', STRIPE_SECRET_KEY: 'sk_live_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc', ADMIN_CONSOLE: 'off' };
    expect(() => parseConfig({ ...live, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' })).toThrow(/same mode/);
    expect(parseConfig({ ...live, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_live_abc' }).APP_ENV).toBe('production');
  });

  it('is refused next to a Stripe stand-in: Stripe.js cannot confirm an intent the simulator created', () => {
    expect(() => parseConfig({ ...base, STRIPE_API_HOST: '127.0.0.1', NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' })).toThrow(
      /NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY must not be set with STRIPE_API_HOST/,
    );
  });
});
