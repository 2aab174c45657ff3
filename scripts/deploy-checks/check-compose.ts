/**
 * Checks docker-compose.yml with a real Compose implementation, without an
 * engine: `docker-compose config` renders it (interpolation, merge keys,
 * profiles, the Compose specification's schema), and the rendered file must
 * keep what the deployment promises:
 *
 *   production  only mongo, redis, web, webhooks (the web image again, as
 *               Stripe's endpoint) and worker; MongoDB a replica set with
 *               its healthcheck, Redis with AOF, noeviction and a password;
 *               neither published on the host; web, webhooks and worker on their image
 *               targets, with init, a restart policy, a stop grace period,
 *               waiting for healthy databases, credentials taken from the env
 *               file, and an environment the app's own configuration accepts
 *               as production (no Stripe stand-in); web with a lower CPU weight
 *               than the services that finish paid orders;
 *   demo        with docker/simulator.env layered on: the simulator and the seed
 *               too, the app in development mode pointed at the simulator, the
 *               simulator sending webhooks to the webhooks service with the same secret;
 *   refusals    without any one of its secrets, Compose refuses to render, naming it;
 *               and the app refuses production pointed at a Stripe stand-in.
 *
 *   node --import tsx scripts/deploy-checks/check-compose.ts <docker-compose binary>
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/server/config';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: unknown[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  init?: boolean;
  stop_grace_period?: string;
  profiles?: string[];
  cpu_shares?: number;
}
interface Rendered {
  services: Record<string, Service>;
}

const ROOT = path.resolve(__dirname, '../..');
const compose = process.argv[2];
if (!compose) {
  process.stderr.write('usage: check-compose.ts <docker-compose binary>\n');
  process.exit(2);
}

/** Values no one would use, so that finding them in the output proves where they came from. */
const SECRETS = {
  MONGO_ROOT_PASSWORD: 'check-root-pw',
  MONGO_APP_PASSWORD: 'check-app-pw',
  REDIS_PASSWORD: 'check-redis-pw',
  STRIPE_SECRET_KEY: 'sk_live_check',
  STRIPE_WEBHOOK_SECRET: 'whsec_check',
  // A hash from `npm run --silent admin:hash-password` (of a throwaway password).
  ADMIN_PASSWORD_HASH: 'scrypt:15:8:1:1E1B5QMsTvQhep5DS6yR5g:LtsItWa9Mu9YfQNvQrZYoQt1q4EuqILPwZGLW4I6OZ8',
};

const failures: string[] = [];
const expect = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
};

const dir = mkdtempSync(path.join(tmpdir(), 'compose-check-'));
const envFile = (name: string, vars: Record<string, string>) => {
  const file = path.join(dir, name);
  writeFileSync(file, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
  return file;
};

/** This process's environment with only the given variables left. */
function onlyEnv(keep: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (!keep.includes(key)) delete env[key];
  return env;
}

/** Runs Compose on a clean environment: only the given env files decide (no .env, nothing inherited). */
function run(envFiles: string[], ...args: string[]) {
  return spawnSync(compose!, ['--project-name', 'orders-check', '-f', 'docker-compose.yml', ...envFiles.flatMap((f) => ['--env-file', f]), ...args], {
    cwd: ROOT,
    env: onlyEnv(['PATH', 'HOME']),
    encoding: 'utf8',
  });
}

function render(envFiles: string[]): Rendered {
  const res = run(envFiles, 'config', '--format', 'json');
  if (res.status !== 0) throw new Error(`docker-compose config failed (${res.status}):\n${res.stderr}`);
  return JSON.parse(res.stdout) as Rendered;
}

const env = (s: Service | undefined) => Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, v ?? '']));
const has = (s: Service | undefined, arg: string) => (s?.command ?? []).includes(arg);

function checkProduction(r: Rendered): void {
  const names = Object.keys(r.services).sort();
  expect(names.join() === 'mongo,redis,web,webhooks,worker', `production runs mongo, redis, web, webhooks, worker only (got ${names.join(', ')})`);
  const { mongo, redis, web, webhooks, worker } = r.services;

  expect(has(mongo, '--replSet') && has(mongo, '--keyFile'), 'mongo runs as a replica set with a key file');
  expect((mongo?.healthcheck?.test ?? []).some((t) => t.includes('replica-set.js')), 'mongo healthcheck initiates the replica set and waits for a primary');
  expect(env(mongo).MONGO_INITDB_ROOT_PASSWORD === SECRETS.MONGO_ROOT_PASSWORD, 'mongo root password from the env file');
  expect(env(mongo).MONGO_APP_PASSWORD === SECRETS.MONGO_APP_PASSWORD, 'mongo app user password from the env file');
  const redisArgs = (redis?.command ?? []).join(' ');
  expect(/--appendonly yes/.test(redisArgs), 'redis keeps an append-only file');
  expect(/--maxmemory-policy noeviction/.test(redisArgs), 'redis never evicts (BullMQ requirement)');
  expect(redisArgs.includes(`--requirepass ${SECRETS.REDIS_PASSWORD}`), 'redis password from the env file');
  for (const [name, s] of [['mongo', mongo], ['redis', redis]] as const) {
    expect(!s?.healthcheck?.disable && (s?.healthcheck?.test?.length ?? 0) > 0, `${name} has a healthcheck`);
    expect((s?.ports ?? []).length === 0, `${name} is not published on the host`);
    expect(s?.restart === 'unless-stopped', `${name} restarts`);
  }

  for (const [name, s, target] of [['web', web, 'web'], ['webhooks', webhooks, 'web'], ['worker', worker, 'worker']] as const) {
    expect(s?.build?.dockerfile === 'docker/Dockerfile' && s.build.target === target, `${name} builds docker/Dockerfile's ${target} target`);
    expect(s?.init === true, `${name} runs under an init process (signals forwarded)`);
    expect(s?.restart === 'unless-stopped', `${name} restarts`);
    expect(s?.stop_grace_period !== undefined, `${name} has a stop grace period`);
    expect(s?.healthcheck === undefined || !s.healthcheck.disable, `${name} keeps its image's healthcheck`);
    for (const db of ['mongo', 'redis']) expect(s?.depends_on?.[db]?.condition === 'service_healthy', `${name} waits for a healthy ${db}`);
    const e = env(s);
    expect(e.APP_ENV === 'production', `${name}: APP_ENV=production`);
    expect(e.MONGODB_URI?.includes(`:${SECRETS.MONGO_APP_PASSWORD}@mongo:27017/`) === true && e.MONGODB_URI.includes('replicaSet=rs0'), `${name}: MongoDB URI with the app user and the replica set`);
    expect(e.REDIS_URL === `redis://:${SECRETS.REDIS_PASSWORD}@redis:6379`, `${name}: Redis URL with the password`);
    try {
      const config = parseConfig(e);
      expect(config.STRIPE_API_HOST === undefined, `${name}: talks to Stripe itself`);
    } catch (err) {
      failures.push(`${name}: the app refuses the rendered environment: ${(err as Error).message}`);
    }
  }
  // Compose's default CPU weight is 1024: the storefront yields to what finishes paid orders.
  const weight = (svc: Service | undefined) => svc?.cpu_shares ?? 1024;
  const finishers = { webhooks, worker, mongo, redis };
  expect(
    Object.values(finishers).every((svc) => weight(web) < weight(svc)),
    `web has a lower CPU weight (cpu_shares ${weight(web)}) than ${Object.entries(finishers).map(([n, svc]) => `${n} (${weight(svc)})`).join(', ')}`,
  );
}

function checkDemo(r: Rendered): void {
  const names = Object.keys(r.services).sort();
  expect(names.join() === 'mongo,redis,seed,simulator,web,webhooks,worker', `the demo adds simulator and seed (got ${names.join(', ')})`);
  const { web, webhooks, worker, simulator, seed } = r.services;
  for (const [name, s] of [['web', web], ['webhooks', webhooks], ['worker', worker], ['seed', seed]] as const) {
    const e = env(s);
    expect(e.APP_ENV === 'development' && e.STRIPE_API_HOST === 'simulator', `demo ${name}: development mode, Stripe API at the simulator`);
    try {
      parseConfig(e);
    } catch (err) {
      failures.push(`demo ${name}: the app refuses the rendered environment: ${(err as Error).message}`);
    }
  }
  const sim = env(simulator);
  expect(sim.SIM_WEBHOOK_URL === `http://webhooks:${env(webhooks).PORT}/api/webhooks/stripe`, 'the simulator sends webhooks to the webhooks service');
  expect(sim.STRIPE_WEBHOOK_SECRET === env(webhooks).STRIPE_WEBHOOK_SECRET, 'the simulator signs with the secret the webhooks service verifies');
  expect(env(web).STRIPE_API_PORT === sim.SIM_PORT, 'the app calls the port the simulator listens on');
}

function checkRefusals(): void {
  for (const name of Object.keys(SECRETS)) {
    const without = { ...SECRETS } as Record<string, string>;
    delete without[name];
    const res = run([envFile(`without-${name}.env`, without)], 'config', '--quiet');
    expect(res.status !== 0 && res.stderr.includes(name), `Compose refuses to render without ${name}`);
  }
  try {
    parseConfig({ ...SECRETS, APP_ENV: 'production', STRIPE_SECRET_KEY: 'sk_test_check', STRIPE_API_HOST: 'simulator' });
    failures.push('the app accepts production pointed at the simulator');
  } catch {
    // refused, as it must be
  }
}

try {
  const secrets = envFile('secrets.env', SECRETS);
  checkProduction(render([secrets]));
  checkDemo(render([secrets, path.join(ROOT, 'docker', 'simulator.env')]));
  checkRefusals();
} catch (err) {
  failures.push((err as Error).message);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (failures.length > 0) {
  process.stderr.write(`docker-compose.yml: ${failures.length} problem(s):\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('docker-compose.yml: production and demo renderings keep their promises; missing secrets are refused\n');
