/**
 * Starts the real processes the suite talks to: the payment simulator, the
 * Next.js app (the production build's standalone server) and the worker. Redis, the
 * MongoDB server and stripe-mock are started by scripts/services (npm test).
 */
import mongoose from 'mongoose';
import { assertPortFree, startNextApp, startTs, stopProcess, waitForHttp, type Managed } from './processes';
import { APP_PORT, SIM_PORT, testEnv, WORKER_HTTP_PORT } from './test-env';

let procs: Managed[] = [];

export default async function setup(): Promise<() => Promise<void>> {
  const env = testEnv();
  Object.assign(process.env, env); // inherited by the test workers
  const childEnv = { ...process.env, ...env };
  await assertPortFree(SIM_PORT, 'payment simulator');
  await assertPortFree(APP_PORT, 'web app');
  await assertPortFree(WORKER_HTTP_PORT, 'worker HTTP endpoints');

  const sim = startTs('simulator', 'src/payment-simulator/main.ts', {
    ...childEnv,
    SIM_PORT: String(SIM_PORT),
    SIM_WEBHOOK_URL: `${env.APP_URL}/api/webhooks/stripe`,
    SERVICE_NAME: 'simulator',
  });
  procs.push(sim);

  const app = startNextApp('app', APP_PORT, { ...childEnv, SERVICE_NAME: 'app' });
  procs.push(app);

  const worker = startTs('worker', 'worker/index.ts', { ...childEnv, SERVICE_NAME: 'worker', WORKER_HTTP_PORT: String(WORKER_HTTP_PORT) });
  procs.push(worker);

  await waitForHttp(`${env.SIM_URL}/_sim/health`, 30_000, sim);
  // Ready, not just alive: the first tests need MongoDB and Redis behind the app.
  await waitForHttp(`${env.APP_URL}/api/ready`, 60_000, app);
  await waitForHttp(`${env.WORKER_URL}/ready`, 60_000, worker);

  return async () => {
    await Promise.all(procs.map((p) => stopProcess(p)));
    procs = [];
    // Leave nothing behind on a shared server.
    await mongoose.connect(env.MONGODB_URI);
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  };
}
