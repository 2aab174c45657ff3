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

  it('never lets production talk to a simulator, nor development to a live key', () => {
    expect(() => parseConfig({ ...base, APP_ENV: 'production', STRIPE_API_HOST: '127.0.0.1' })).toThrow(/STRIPE_API_HOST/);
    expect(() => parseConfig({ ...base, STRIPE_SECRET_KEY: 'sk_live_abc' })).toThrow(/live key/);
  });
});

describe('the publishable key', () => {
  it('is optional, must look like one and must match the secret key’s mode', () => {
    expect(parseConfig(base).NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY).toBeUndefined();
    expect(parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' }).NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY).toBe('pk_test_abc');
    expect(() => parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'sk_test_abc' })).toThrow(/NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY must look like pk_test_/);
    expect(() => parseConfig({ ...base, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_live_abc' })).toThrow(/same mode/);
    const live = { APP_ENV: 'production', STRIPE_SECRET_KEY: 'sk_live_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' };
    expect(() => parseConfig({ ...live, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' })).toThrow(/same mode/);
    expect(parseConfig({ ...live, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_live_abc' }).APP_ENV).toBe('production');
  });

  it('is refused next to a Stripe stand-in: Stripe.js cannot confirm an intent the simulator created', () => {
    expect(() => parseConfig({ ...base, STRIPE_API_HOST: '127.0.0.1', NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_abc' })).toThrow(
      /NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY must not be set with STRIPE_API_HOST/,
    );
  });
});
