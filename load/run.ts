/**
 * `npm run load -- <scenario> [options]`: runs a load scenario (load/scenarios/)
 * against a running system, writes .run/load/<scenario>-<time>.json and
 * .run/load/<scenario>-<time>/report.html, prints the summary, and exits
 *   0  every threshold met and every check passed
 *   1  a threshold missed, or oversold / charged twice / not exact / auditor violations
 *   2  bad arguments, or the run could not be carried out
 *
 * Options:
 *   --prefill N           store N historical orders first (flat-cost comparison)
 *   --drill ACTION@Ns     kill-worker@10s, kill-web@5s (repeatable; needs `npm run start:all` to restart them),
 *                         restart-redis@10s[+3s], flush-redis@10s, restart-mongo@10s[+3s] (load/lib/drills.ts)
 *   --no-baseline         skip the accept-path / baseline comparison
 *   --thresholds-advisory report the thresholds but pass or fail on the checks only (exactness, auditor, drills)
 *   --pid ROLE=PID        measure this pid for web|worker|database|redis|simulator instead of finding it by port
 * Where the system is: APP_URL (http://127.0.0.1:4000), SIM_URL (http://127.0.0.1:12200),
 * MONGODB_URI (mongodb://127.0.0.1:27017/orders), REDIS_URL (redis://127.0.0.1:6379),
 * QUEUE_PREFIX (orders), WORKER_HTTP_PORT (9464), WEBHOOK_PORT (4090). Scenario sizes: UNITS, BUYERS,
 * CONCURRENCY, DURATION_S, RATE, POLL_MS, BASELINE_REQUESTS.
 * Traffic goes to the given URLs only; every run is bounded by its buyers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { disconnectMongo } from '../prisma-free-models';
import { logger } from '../src/server/logger';
import { parseDrill, type DrillSpec } from './lib/drills';
import { renderReport, type ReportContext } from './lib/report-html';
import { runScenario, type RunResult, type Target } from './lib/run-scenario';
import { SCENARIOS } from './scenarios';

class UsageError extends Error {}

interface Args {
  scenario: string;
  prefill: number;
  drills: DrillSpec[];
  baseline: boolean | undefined;
  thresholdsAdvisory: boolean;
  pids: Record<string, number>;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { scenario: '', prefill: 0, drills: [], baseline: undefined, thresholdsAdvisory: false, pids: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--prefill') {
      args.prefill = Number(value());
      if (!Number.isInteger(args.prefill) || args.prefill < 0) throw new UsageError('--prefill needs a whole number');
    } else if (arg === '--drill') args.drills.push(parseDrill(value()));
    else if (arg === '--no-baseline') args.baseline = false;
    else if (arg === '--thresholds-advisory') args.thresholdsAdvisory = true;
    else if (arg === '--pid') {
      const m = /^(web|worker|database|redis|simulator)=(\d+)$/.exec(value());
      if (!m?.[1]) throw new UsageError('--pid needs ROLE=PID with ROLE one of web, worker, database, redis, simulator');
      args.pids[m[1]] = Number(m[2]);
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (!args.scenario) args.scenario = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (!args.scenario) throw new UsageError('name a scenario');
  if (!SCENARIOS[args.scenario]) throw new UsageError(`unknown scenario ${args.scenario}`);
  return args;
}

export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): Target {
  return {
    appUrl: env.APP_URL ?? 'http://127.0.0.1:4000',
    simUrl: env.SIM_URL ?? 'http://127.0.0.1:12200',
    mongodbUri: env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/orders',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: env.QUEUE_PREFIX ?? 'orders',
    workerPort: Number(env.WORKER_HTTP_PORT || 9464),
    webhookPort: Number(env.WEBHOOK_PORT || 4090),
  };
}

export function machine(): ReportContext['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** The command as typed, with the settings that changed it, so a reader can run it again. */
function commandLine(): string {
  const names = ['UNITS', 'BUYERS', 'CONCURRENCY', 'DURATION_S', 'RATE', 'POLL_MS', 'BASELINE_REQUESTS', 'APP_URL', 'SIM_URL', 'MONGODB_URI', 'REDIS_URL', 'QUEUE_PREFIX', 'WORKER_HTTP_PORT', 'WEBHOOK_PORT'];
  // A URI's user and password stay out of the report.
  const settings = names.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${String(process.env[k]).replace(/\/\/[^/@]*@/, '//***@')}`);
  return [...settings, 'npm run load --', ...process.argv.slice(2)].join(' ');
}

export function writeResults(result: RunResult, ctx: ReportContext, dir = path.resolve(__dirname, '..', '.run', 'load')): { json: string; html: string } {
  const run = `${result.scenario.name}-${result.startedAt.replace(/[:.]/g, '-')}`;
  mkdirSync(path.join(dir, run), { recursive: true });
  const json = path.join(dir, `${run}.json`);
  const html = path.join(dir, run, 'report.html');
  writeFileSync(json, `${JSON.stringify({ ...result, command: ctx.command, machine: ctx.machine }, null, 2)}\n`);
  writeFileSync(html, renderReport(result, ctx));
  return { json, html };
}

function printSummary(r: RunResult, files: { json: string; html: string }): void {
  const lines = [
    `${r.scenario.name}: ${r.ok ? 'PASS' : 'FAIL'}${r.interrupted ? ' (interrupted)' : ''} — ${r.summary.confirmed}/${r.scenario.units} confirmed, ${r.summary.sold} sold, ${r.summary.salesPerS} sales/s until the last unit (${r.summary.holdsPerS} holds/s), ${r.durationS} s`,
    ...Object.entries(r.latency).map(([k, t]) => `  ${k.padEnd(31)} p50 ${Math.round(t.med)}  p95 ${Math.round(t.p95)}  p99 ${Math.round(t.p99)}  (n=${t.count})`),
    r.webhooks.latencyMs
      ? `  ${'webhook_ms'.padEnd(16)} p50 ${r.webhooks.latencyMs.med}  p99 ${r.webhooks.latencyMs.p99}  (${r.webhooks.attempts} attempts, ${r.webhooks.timeouts} timed out)`
      : '  webhook timings: not reported by the simulator',
    `  CPU ms per buyer: ${r.cpu.map((c) => `${c.role} ${c.found ? c.msPerBuyer : '?'}`).join(', ')}`,
    ...(r.baseline ? [`  accept ${r.baseline.accept.perSecond}/s vs baseline ${r.baseline.baseline?.perSecond ?? '–'}/s: ratio ${r.baseline.ratio ?? '–'}`] : []),
    ...(r.thresholdsAdvisory ? ['  thresholds (advisory: they do not decide the exit code):'] : []),
    ...r.thresholds.map((t) => `  ${t.skipped ? 'skip' : t.ok ? 'ok  ' : 'MISS'} ${t.metric} ${t.expression} (${t.actual === null ? t.problem : Math.round(t.actual * 100) / 100})`),
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    `  ${files.json}`,
    `  ${files.html}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof Error) || (!(err instanceof UsageError) && !err.message.startsWith('--drill'))) throw err;
    process.stderr.write(`${err.message}\nscenarios: ${Object.keys(SCENARIOS).join(', ')}\n`);
    return 2;
  }
  // Domain code used by the driver (the auditor) logs at warn and above only.
  logger.level = process.env.LOG_LEVEL ?? 'warn';
  const load = SCENARIOS[args.scenario];
  if (!load) return 2;
  const scenario = await load();
  const target = { ...targetFromEnv(), pids: args.pids };
  // Ctrl-C: no new buyers, the others stop waiting, and the run is still checked and reported; a second one quits.
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: finishing the buyers under way, then checking and reporting (Ctrl-C again quits)\n');
    interrupt.abort();
  });
  const result = await runScenario(scenario, target, {
    prefill: args.prefill,
    drills: args.drills,
    thresholdsAdvisory: args.thresholdsAdvisory,
    signal: interrupt.signal,
    ...(args.baseline === undefined ? {} : { baseline: args.baseline }),
  });
  const ctx: ReportContext = { command: commandLine(), machine: machine() };
  printSummary(result, writeResults(result, ctx));
  await disconnectMongo();
  return result.ok ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`load run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
