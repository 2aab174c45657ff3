/**
 * The floor under every call: what the stack itself costs per request,
 * before any work of ours, per process and for the whole machine. A scenario
 * of B buyers who each make K calls cannot take less than B × K times the
 * floor of CPU, however cheap the calls' own work becomes; comparing a
 * scenario's CPU per buyer with it says how much of the cost is ours to cut.
 *
 * Three kinds of request, each N times (default 4,000), CONCURRENCY (50) at
 * a time, each sender on a keep-alive connection of its own, after a warm-up:
 *   - a tRPC call the input validation refuses (400): HTTP, the API's own
 *     path in front of Next, tRPC and zod; no database, no Redis;
 *   - `cart.create`: the same and one insert;
 *   - the baseline route (`POST /api/bench/baseline`, one insert and one
 *     enqueue, through Next's router; the app must run with
 *     LOAD_BASELINE_ROUTE=1, else it is skipped).
 * CPU per process comes from /proc as in the load runs (lib/processes.ts),
 * the driver's from its own usage, the machine's from /proc/stat (every
 * process on it, idle excluded); `busy` is the share of the machine's cores
 * in use meanwhile (below 100 %: one process, not the cores, was the limit).
 *
 *   npx tsx load/request-floor.ts
 * Settings: N, CONCURRENCY, and where the system is as for `npm run load`.
 */
import { readFileSync } from 'node:fs';
import { createHttpClient, type LiteFetch } from './lib/http-client';
import { CpuMeter } from './lib/processes';
import { systemProcesses } from './lib/run-scenario';
import { envNumber } from './lib/scenario';
import { machine, targetFromEnv } from './run';

const N = envNumber('N', 4_000);
const CONCURRENCY = envNumber('CONCURRENCY', 50);
const WARM_UP = 10;
/** /proc/stat counts in clock ticks of 10 ms (USER_HZ 100 on Linux). */
const TICK_MS = 10;

/** Busy and total clock ticks of the whole machine so far. */
function machineTicks(): { busy: number; total: number } {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  const fields = (cpu ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

interface Row {
  request: string;
  perSecond: number;
  statuses: string;
  byRole: Record<string, number>;
  driverMs: number;
  machineMs: number;
  busy: number;
}

type Send = (fetch: LiteFetch) => Promise<number>;

async function measure(name: string, send: Send, targets: ReturnType<typeof systemProcesses>): Promise<Row> {
  const clients = Array.from({ length: CONCURRENCY }, () => createHttpClient());
  try {
    await Promise.all(clients.map(async (c) => { for (let i = 0; i < WARM_UP; i++) await send(c.fetch); }));
    const statuses = new Map<number, number>();
    const meter = new CpuMeter(targets);
    const t0 = performance.now();
    const ticks0 = machineTicks();
    const own0 = process.cpuUsage();
    meter.start(0);
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (next++ < N) {
          const status = await send(c.fetch);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const wallMs = performance.now() - t0;
    meter.sample(wallMs);
    const own = process.cpuUsage(own0);
    const ticks1 = machineTicks();
    return {
      request: name,
      perSecond: (N * 1000) / wallMs,
      statuses: [...statuses].map(([s, n]) => `${n} × ${s}`).join(', '),
      byRole: Object.fromEntries(meter.result().filter((r) => r.found).map((r) => [r.role, r.cpuMs / N])),
      driverMs: (own.user + own.system) / 1000 / N,
      machineMs: ((ticks1.busy - ticks0.busy) * TICK_MS) / N,
      busy: (ticks1.busy - ticks0.busy) / Math.max(1, ticks1.total - ticks0.total),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

/** The answer's status, its body read so the connection is free again. */
const answered = async (res: Promise<{ status: number; text(): Promise<string> }>) => {
  const r = await res;
  await r.text();
  return r.status;
};

async function main(): Promise<void> {
  const target = targetFromEnv();
  const targets = systemProcesses(target);
  const app = target.appUrl.replace(/\/$/, '');
  const refusedInput = encodeURIComponent(JSON.stringify({ cartId: '' }));
  const json = { 'content-type': 'application/json' };
  const kinds: [string, Send][] = [
    ['tRPC call refused by validation', (f) => answered(f(`${app}/api/trpc/cart.get?input=${refusedInput}`))],
    ['cart.create (one insert)', (f) => answered(f(`${app}/api/trpc/cart.create`, { method: 'POST', headers: json, body: 'null' }))],
    ['baseline route (insert + enqueue, through Next)', (f) => answered(f(`${app}/api/bench/baseline`, { method: 'POST' }))],
  ];
  const rows: Row[] = [];
  for (const [name, send] of kinds) {
    process.stderr.write(`${name}: ${N} requests, ${CONCURRENCY} at a time...\n`);
    const row = await measure(name, send, targets);
    if (name.startsWith('baseline') && row.statuses.includes('404')) {
      process.stderr.write('  the baseline route answered 404: start the app with LOAD_BASELINE_ROUTE=1 (never in production); skipped\n');
      continue;
    }
    rows.push(row);
  }
  const roles = targets.map((t) => t.role);
  const { cpus, cpuModel, node } = machine();
  console.log(`CPU ms per request; ${N} requests, ${CONCURRENCY} at a time; ${cpus} × ${cpuModel}, Node ${node}`);
  const header = ['request', 'answers', 'per second', ...roles, 'driver', 'machine', 'busy'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const cells = roles.map((role) => (r.byRole[role] === undefined ? '-' : r.byRole[role].toFixed(2)));
    console.log(`| ${r.request} | ${r.statuses} | ${r.perSecond.toFixed(0)} | ${cells.join(' | ')} | ${r.driverMs.toFixed(2)} | ${r.machineMs.toFixed(2)} | ${(r.busy * 100).toFixed(0)} % |`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`request-floor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
