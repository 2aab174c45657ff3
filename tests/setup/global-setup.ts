/**
 * Starts the real processes the suite talks to: the payment simulator, the
 * Next.js app (the production build's standalone server) and the worker. Redis, the
 * MongoDB server and stripe-mock are started by scripts/services (npm test).
 */
import mongoose from 'mongoose';
import { assertPortFree, startNextApp, startTs, stopProcess, waitForHttp, type Managed } from './processes';
import { APP_PORT, SIM_PORT, testEnv } from './test-env';

let procs: Managed[] = [];

export default async function setup(): Promise<() => Promise<void>> {
  const env = testEnv();
  Object.assign(process.env, env); // inherited by the test workers
  const childEnv = { ...process.env, ...env };
  await assertPortFree(SIM_PORT, 'payment simulator');
  await assertPortFree(APP_PORT, 'web app');

  const sim = startTs('simulator', 'src/payment-simulator/main.ts', {
    ...childEnv,
    SIM_PORT: String(SIM_PORT),
    SIM_WEBHOOK_URL: `${env.APP_URL}/api/webhooks/stripe`,
    SERVICE_NAME: 'simulator',
  });
  procs.push(sim);

  const app = startNextApp('app', APP_PORT, { ...childEnv, SERVICE_NAME: 'app' });
  procs.push(app);

  const worker = startTs('worker', 'worker/index.ts', { ...childEnv, SERVICE_NAME: 'worker' });
  procs.push(worker);

  await waitForHttp(`${env.SIM_URL}/_sim/health`, 30_000, sim);
  await waitForHttp(`${env.APP_URL}/api/health`, 60_000, app);

  return async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
    procs = [];
    // Leave nothing behind on a shared server.
    await mongoose.connect(env.MONGODB_URI);
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  };
}
