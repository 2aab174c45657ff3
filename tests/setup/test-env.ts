/**
 * The test environment: where the services started by scripts/services are
 * (override MONGODB_URI / REDIS_URL to point the suite at other servers, a
 * real MongoDB replica set included), and the ports of the processes the
 * suite starts itself.
 */
import { randomBytes } from 'node:crypto';

const runId = process.env.TEST_RUN_ID ?? randomBytes(3).toString('hex');

function withDatabase(uri: string, db: string): string {
  const u = new URL(uri);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Another database on the same server as `uri`'s: `<db>_<suffix>`. For tests
 * that start processes of their own and must not share the suite's data.
 */
export function siblingDatabase(uri: string, suffix: string): string {
  const db = new URL(uri).pathname.replace(/^\//, '') || 'test';
  return withDatabase(uri, `${db}_${suffix}`);
}

export const WEBHOOK_SECRET = 'whsec_test_suite_secret';
/** The operator console's password for the suite's app (tests/admin-helpers.ts signs in with it). */
export const ADMIN_PASSWORD = 'test-suite-operator-password';
export const APP_PORT = Number(process.env.TEST_APP_PORT ?? 4100);
export const SIM_PORT = Number(process.env.TEST_SIM_PORT ?? 12290);
export const STRIPE_MOCK_PORT = Number(process.env.TEST_STRIPE_MOCK_PORT ?? 12190);
/** The suite's worker's /health, /ready and /metrics (the three ports after APP_PORT are the multi-process test's). */
export const WORKER_HTTP_PORT = Number(process.env.TEST_WORKER_HTTP_PORT ?? APP_PORT + 5);

/**
 * The suite's app serves every test from this machine, most of them ordering
 * for one customer: its limits are out of the way (tests/helpers.ts
 * suiteOrderLimits likewise; loopback is exempt from the per-address limits
 * outside production anyway). The abuse tests start apps of their own on the
 * defaults (tests/integration/limits-app.ts).
 */
export const SUITE_LIMITS = {
  RATE_LIMIT_CART: '100000',
  RATE_LIMIT_EMAIL_ORDERS: '100000',
  MAX_QTY_PER_SKU: '100',
  MAX_LINES_PER_ORDER: '50',
  MAX_UNPAID_ORDERS_PER_CUSTOMER: '1000',
};

export function testEnv() {
  const mongo = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27090/orders_test';
  return {
    APP_ENV: 'test',
    TEST_RUN_ID: runId,
    MONGODB_URI: withDatabase(mongo, `orders_test_${runId}`),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6390',
    QUEUE_PREFIX: `t_${runId}`,
    STRIPE_SECRET_KEY: 'sk_test_suite',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ADMIN_PASSWORD,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(SIM_PORT),
    STRIPE_API_PROTOCOL: 'http',
    CURRENCY: 'INR',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    RECONCILE_INTERVAL_MS: '2000',
    // Off for every worker a test starts with this environment (they would
    // all want one port); the suite's own worker gets WORKER_HTTP_PORT.
    WORKER_HTTP_PORT: '0',
    WORKER_URL: `http://127.0.0.1:${WORKER_HTTP_PORT}`,
    ...SUITE_LIMITS,
    APP_URL: `http://127.0.0.1:${APP_PORT}`,
    SIM_URL: `http://127.0.0.1:${SIM_PORT}`,
    STRIPE_MOCK_URL: `http://127.0.0.1:${STRIPE_MOCK_PORT}`,
  };
}
