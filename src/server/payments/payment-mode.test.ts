import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { paymentModeFor, SIMULATOR_PUBLISHABLE_KEY } from './payment-mode';

const keys = { STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_WEBHOOK_SECRET: 'whsec_abc' };
const simulator = { STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: '12200', STRIPE_API_PROTOCOL: 'http' };

describe('how the browser pays', () => {
  it('uses Stripe’s Payment Element with a publishable key and the real API', () => {
    expect(paymentModeFor(parseConfig({ ...keys, NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_test_xyz' }))).toEqual({
      kind: 'stripe',
      publishableKey: 'pk_test_xyz',
    });
    const live = parseConfig({ APP_ENV: 'production', STRIPE_SECRET_KEY: 'sk_live_a', STRIPE_WEBHOOK_SECRET: 'whsec_a', NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: 'pk_live_b', ADMIN_CONSOLE: 'off' });
    expect(paymentModeFor(live)).toEqual({ kind: 'stripe', publishableKey: 'pk_live_b' });
  });

  it('uses the test-mode card form against the simulator, outside production', () => {
    for (const APP_ENV of ['development', 'test']) {
      expect(paymentModeFor(parseConfig({ ...keys, ...simulator, APP_ENV }))).toEqual({
        kind: 'simulator',
        publishableKey: SIMULATOR_PUBLISHABLE_KEY,
        apiUrl: 'http://127.0.0.1:12200',
      });
    }
  });

  it('never offers the test-mode card form in production, whatever the configuration says', () => {
    // parseConfig refuses a stand-in in production; the mode refuses it on its own too.
    expect(() => parseConfig({ ...keys, ...simulator, APP_ENV: 'production' })).toThrow(/STRIPE_API_HOST/);
    const forced = { ...parseConfig(keys), APP_ENV: 'production' as const, STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: 12200 };
    expect(paymentModeFor(forced).kind).toBe('off');
  });

  it('says payment is not set up when there is a real secret key but no publishable key', () => {
    const mode = paymentModeFor(parseConfig(keys));
    expect(mode.kind).toBe('off');
    expect(mode.kind === 'off' && mode.reason).toMatch(/NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY/);
  });
});
