/**
 * Runs the system's processes under the supervisor (scripts/supervisor/):
 *
 *   node --import tsx scripts/supervisor.ts [simulator] web[=N] [webhooks] worker[=N]
 *
 * scripts/dev.sh calls it after starting Redis and MongoDB and exporting the
 * environment; each process reads its settings from that environment.
 *   simulator  the local payment simulator on STRIPE_API_PORT (default 12200),
 *              sending webhooks to the web app on PORT
 *   web        the production build's standalone server under its cluster
 *              primary (`node web-cluster.cjs`, as the web image runs it:
 *              WEB_PROCESSES server processes sharing one port, default half
 *              the CPUs, with the primary even for one: WEB_PRIMARY=1); copy i
 *              listens on PORT + i - 1 (a balancer in front of several copies
 *              is not part of this); its copies run at WEB_NICE (default 5),
 *              below the processes that finish paid orders (web-cluster.cjs)
 *   webhooks   the same server on WEBHOOK_PORT (default 4090), where the
 *              simulator then sends its webhooks: Stripe's deliveries are
 *              answered by a process of their own, never queued behind the
 *              storefront's requests in the web app's one event loop
 *   worker     the BullMQ worker; any number of copies share the queues; copy i
 *              serves /health, /ready and /metrics on WORKER_HTTP_PORT + i - 1
 *              (default 9464; 0 turns them off for every copy)
 *
 * Run with `node --import tsx`, not the `tsx` command, so that signals reach
 * this process directly rather than through a wrapper.
 */
import os from 'node:os';
import path from 'node:path';
import { runSupervisor } from './supervisor/run';
import type { ChildSpec } from './supervisor/supervisor';

const ROOT = path.resolve(__dirname, '..');
const node = process.execPath;
const port = Number(process.env.PORT ?? 4000);
const workerHttpPort = Number(process.env.WORKER_HTTP_PORT || 9464);
const webhookPort = Number(process.env.WEBHOOK_PORT || 4090);
/**
 * The storefront's copies when WEB_PROCESSES is unset: half the CPUs, at least
 * one. Here it shares the machine with the processes that finish paid orders
 * and it is about half of a sale's CPU; with a copy per CPU its copies took
 * the cores from them (load/README.md, "One storefront copy on two cores").
 */
const storefrontCopies = Math.max(1, Math.floor(os.availableParallelism() / 2));
const requested = process.argv.slice(2);
/** Where the simulator sends webhooks: the webhooks process when it runs, else the web app. */
const webhookTarget = requested.some((arg) => /^webhooks(=|$)/.test(arg)) ? webhookPort : port;

interface Preset extends Omit<ChildSpec, 'name' | 'count'> {
  /** The app talks to one simulator: a second copy would only take its port. */
  single?: boolean;
}

const presets: Record<string, Preset> = {
  simulator: {
    single: true,
    command: node,
    args: ['--import', 'tsx', 'src/payment-simulator/main.ts'],
    env: {
      SIM_PORT: process.env.STRIPE_API_PORT ?? '12200',
      SIM_WEBHOOK_URL: `http://127.0.0.1:${webhookTarget}/api/webhooks/stripe`,
      SERVICE_NAME: 'simulator',
    },
  },
  web: {
    command: node,
    args: ['.next/standalone/web-cluster.cjs'],
    // HOSTNAME is the standalone server's listen address (all interfaces, as `next start` did).
    env: (instance) => ({
      PORT: String(port + instance - 1),
      HOSTNAME: '0.0.0.0',
      SERVICE_NAME: 'app',
      WEB_NICE: process.env.WEB_NICE || '5',
      WEB_PROCESSES: process.env.WEB_PROCESSES || String(storefrontCopies),
      WEB_PRIMARY: process.env.WEB_PRIMARY || '1',
    }),
  },
  webhooks: {
    single: true,
    command: node,
    args: ['.next/standalone/web-cluster.cjs'],
    env: { PORT: String(webhookPort), HOSTNAME: '0.0.0.0', SERVICE_NAME: 'webhooks', WEB_PROCESSES: '1', WEB_PRIMARY: '0', WEB_NICE: '0' },
  },
  worker: {
    command: node,
    args: ['--import', 'tsx', 'worker/index.ts'],
    env: (instance) => ({ SERVICE_NAME: 'worker', WORKER_HTTP_PORT: workerHttpPort === 0 ? '0' : String(workerHttpPort + instance - 1) }),
  },
};

function parseArgs(args: string[]): ChildSpec[] {
  if (args.length === 0) usage('no process named');
  return args.map((arg) => {
    const match = /^([a-z]+)(?:=(\d+))?$/.exec(arg);
    const preset = match?.[1] === undefined ? undefined : presets[match[1]];
    if (!match?.[1] || !preset) usage(`unknown process "${arg}"`);
    const count = match[2] === undefined ? 1 : Number(match[2]);
    if (count < 1) usage(`${arg}: the count must be at least 1`);
    const { single, ...spec } = preset;
    if (single && count > 1) usage(`${arg}: only one ${match[1]} can run`);
    return { name: match[1], count, ...spec };
  });
}

function usage(problem: string): never {
  process.stderr.write(`[supervisor] ${problem}; usage: supervisor.ts [simulator] web[=N] [webhooks] worker[=N]\n`);
  process.exit(2);
}

runSupervisor(parseArgs(requested), { cwd: ROOT, stopGraceMs: 15_000 });
