/**
 * One run of a scenario against a running system: its own product, the
 * simulator's switches for the run (put back after), the buyers under the
 * scenario's load model while CPU, queue depths and the buyers' states are
 * sampled every second, optional drills, then the webhook timings from the
 * simulator, the accept-path/baseline comparison, the exactness checks and
 * the auditor, and the thresholds. Returns everything the JSON and the HTML
 * report show; `ok` is false when a threshold or a check failed.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { connectMongo, Product } from '../../prisma-free-models';
import { runBuyer, type BuyerPlan, type BuyerResult } from './buyer';
import { measureBaseline, type BaselineResult } from './baseline';
import { checkExactness, statesOf, type Check } from './checks';
import { describeDrill, drillDetail, runDrills, type DrillResult, type DrillSpec } from './drills';
import { runModel } from './executor';
import { createHttpClient, type HttpClientOptions } from './http-client';
import { prefillOrders } from './prefill';
import { CpuMeter, type ProcessTarget, type RoleCpu } from './processes';
import { startProgress } from './progress';
import { QueueDepths } from './queue-depths';
import { Recorder } from './recorder';
import { envNumber, type Scenario } from './scenario';
import { configureSim, deliveryAttempts, flushSim, previousSwitches, settleSim, simConfig, type SimSwitches } from './simulator';
import { perSecond, round, summarize, type Bucket, type TrendSummary } from './stats';
import { evaluateThresholds, type MetricValue, type ThresholdResult } from './thresholds';

/** What a browser opens to one host over HTTP/1.1. */
const BROWSER_CONNECTIONS_PER_HOST = 6;

export interface Target {
  appUrl: string;
  simUrl: string;
  mongodbUri: string;
  redisUrl: string;
  queuePrefix: string;
  /** The worker's HTTP port (WORKER_HTTP_PORT), by which its process is found. */
  workerPort: number;
  /** The port of the web process that receives Stripe's webhooks (WEBHOOK_PORT), when one runs apart from the web app. */
  webhookPort?: number;
  /** Processes given by pid instead of found by port (role → pid). */
  pids?: Record<string, number>;
}

export interface RunOptions {
  prefill?: number;
  drills?: DrillSpec[];
  /** Measure the accept path against the baseline route (default: when the scenario asks for it). */
  baseline?: boolean;
  progress?: boolean;
  /** Aborted: no new buyers; those under way stop waiting; the run is checked and reported as interrupted (a failure). */
  signal?: AbortSignal;
  /** Report the thresholds but judge the run by its checks only (drills on a machine that cannot meet the targets). */
  thresholdsAdvisory?: boolean;
  log?: (line: string) => void;
}

export interface RunResult {
  ok: boolean;
  /** Stopped early (Ctrl-C): the checks judge what was done, and the run fails. */
  interrupted: boolean;
  /** The thresholds were reported but did not decide `ok`. */
  thresholdsAdvisory: boolean;
  scenario: { name: string; description: string; units: number; model: Scenario['model']; buyer: Scenario['buyer']; sim: Scenario['sim'] | null };
  startedAt: string;
  durationS: number;
  /** The machine's 1-minute load average when the load started and ended: other work on the box shows here. */
  loadAverage: { start: number; end: number };
  sku: string;
  prefill: { sku: string; orders: number; ms: number } | null;
  summary: {
    buyers: number;
    ordersPlaced: number;
    held: number;
    soldOut: number;
    confirmed: number;
    sold: number;
    available: number;
    reserved: number;
    ordersStored: number;
    buyerErrors: number;
    connectionErrors: number;
    requestRetries: number;
    busyRetries: number;
    /** Requests sent again because the server had closed their pooled connection before reading them (http-client.ts). */
    staleConnectionResends: number;
    unsettledOrders: number;
    lastSaleAtS: number | null;
    salesPerS: number;
    lastHoldAtS: number | null;
    holdsPerS: number;
    decisionsPerS: number;
  };
  latency: Record<string, TrendSummary>;
  webhooks: { available: boolean; attempts: number; answered: number; non2xx: number; timeouts: number; latencyMs: TrendSummary | null };
  cpu: (RoleCpu & { msPerBuyer: number })[];
  baseline: BaselineResult | null;
  drills: DrillResult[];
  checks: Check[];
  thresholds: ThresholdResult[];
  auditViolations: { check: string; subject: string; message: string }[];
  errors: Record<string, string[]>;
  series: {
    seconds: number;
    arrivals: number[];
    decisions: number[];
    confirmations: number[];
    errors: number[];
    decisionMs: Bucket[];
    confirmMs: Bucket[];
    webhookMs: Bucket[];
    states: { t: number; counts: Record<string, number> }[];
    queues: { t: number; waiting: Record<string, number> }[];
    cpuPercent: { t: number; percent: Record<string, number> }[];
  };
}

const portOf = (url: string, fallback: number) => {
  const u = new URL(url);
  return u.port ? Number(u.port) : fallback;
};

/** The system's processes, each found by the port it listens on (or given by pid in `target.pids`). */
export function systemProcesses(target: Target): ProcessTarget[] {
  const given = target.pids ?? {};
  const role = (name: string, port: number): ProcessTarget => (given[name] ? { role: name, pid: given[name] } : { role: name, port });
  return [
    role('web', portOf(target.appUrl, 80)),
    ...(target.webhookPort ? [role('webhooks', target.webhookPort)] : []),
    role('worker', target.workerPort),
    role('database', portOf(target.mongodbUri.replace(/^mongodb(\+srv)?:/, 'http:'), 27017)),
    role('redis', portOf(target.redisUrl.replace(/^rediss?:/, 'http:'), 6379)),
    role('simulator', portOf(target.simUrl, 80)),
  ];
}

/** Deterministic per-buyer choice (a fraction of buyers does X), spread evenly over the run. */
const chosen = (i: number, fraction: number, salt: number) => fraction > 0 && ((i * 7919 + salt * 104_729) % 1000) / 1000 < fraction;

const UNSETTLED = new Set(['CREATED', 'INVENTORY_RESERVED', 'PAID']);

export async function runScenario(scenario: Scenario, target: Target, opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await connectMongo(target.mongodbUri);

  const prefill = opts.prefill ? await prefillOrders(opts.prefill, log) : null;

  const sku = `LOAD-${randomBytes(4).toString('hex').toUpperCase()}`;
  const stripes = scenario.stripes ?? 1;
  await Product.create({ _id: sku, name: `Load: ${scenario.name}`, priceMinor: 99_900, currency: 'inr', initialStock: scenario.units, available: scenario.units, reserved: 0, sold: 0, ...(stripes > 1 ? { stripes } : {}) });

  // STRIPE_LATENCY_MS: Stripe's own round trip on every call to the simulator, for any scenario.
  const stripeLatencyMs = envNumber('STRIPE_LATENCY_MS', 0);
  const switches: SimSwitches = { ...(scenario.sim ?? {}), ...(stripeLatencyMs > 0 ? { apiLatencyMs: stripeLatencyMs } : {}) };
  const restore = previousSwitches(await simConfig(target.simUrl), switches);
  if (Object.keys(switches).length) await configureSim(target.simUrl, switches as Record<string, unknown>);

  const cpu = new CpuMeter([...systemProcesses(target), { role: 'load driver', pid: process.pid }]);
  const queues = new QueueDepths(target.redisUrl, target.queuePrefix);

  const rec = new Recorder();
  const loadAtStart = os.loadavg()[0] ?? 0;
  /** Every buyer that arrived, from its arrival on (filled in as it goes). */
  const results: BuyerResult[] = [];
  const states: RunResult['series']['states'] = [];
  cpu.start(0);
  const sampler = setInterval(() => {
    const t = rec.now();
    cpu.sample(t);
    states.push({ t, counts: rec.stateCounts() });
    void queues.sample(t);
  }, 1_000);
  let flushing = false;
  const flusher = scenario.flushEveryMs
    ? setInterval(() => {
        if (flushing) return;
        flushing = true;
        flushSim(target.simUrl)
          .catch((err: unknown) => rec.error('flush_errors', String(err)))
          .finally(() => (flushing = false));
      }, scenario.flushEveryMs)
    : null;
  const stopProgress = opts.progress === false ? () => undefined : startProgress(rec, scenario.model.buyers);

  const drills = runDrills(opts.drills ?? [], target, () => rec.now(), log);

  // "Terminal or payable within settleMs of the last arrival": counted once, then.
  let unsettled: number | null = null;
  const countUnsettled = async () => {
    const ids = results.flatMap((r) => (r.orderId ? [r.orderId] : []));
    const byState = await statesOf(ids);
    // Buyers under way whose placeOrder has not been answered yet: their orders are not settled either.
    const waitingForAnAnswer = results.filter((r) => r.orderId === null && r.state !== 'failed').length;
    return Object.entries(byState).reduce((n, [s, c]) => n + (UNSETTLED.has(s) ? c : 0), 0) + waitingForAnAnswer;
  };
  const lastArrivalMs = scenario.model.kind === 'open' ? scenario.model.durationMs : null;
  const settleTimer =
    lastArrivalMs === null
      ? null
      : setTimeout(() => {
          void countUnsettled().then((n) => (unsettled ??= n));
        }, lastArrivalMs + scenario.settleMs);

  const b = scenario.buyer;
  const clientOptions: HttpClientOptions = {
    onResend: () => rec.count('stale_connection_resends'),
    // Long polls answer late on purpose; every other answer's first byte shows where requests wait.
    onFirstByte: (url, ms, fresh) => {
      if (!url.pathname.includes('waitForChange')) rec.trend(fresh ? 'first_byte_new_connection_ms' : 'first_byte_reused_connection_ms', ms);
    },
  };
  // The baseline's client; buyers have their own (below).
  const http = createHttpClient(clientOptions);
  // Each buyer runs as a k6 virtual user does: on a client of its own while it runs (a browser's
  // connections, at most 6 per host), handed to the next buyer when it is done; another is opened
  // only when every one is in use. One pool for every buyer would hand a paid buyer's wait a
  // connection just opened, waiting behind a crowd's new connections to be accepted, where a
  // browser reuses its own.
  const idleClients: ReturnType<typeof createHttpClient>[] = [];
  const buyerClients: ReturnType<typeof createHttpClient>[] = [];
  const buyerClient = () => {
    const idle = idleClients.pop();
    if (idle) return idle;
    const client = createHttpClient({ ...clientOptions, maxSockets: BROWSER_CONNECTIONS_PER_HOST });
    buyerClients.push(client);
    return client;
  };
  const basePlan: Omit<BuyerPlan, 'http' | 'repeats' | 'concurrentRepeats' | 'declineFirst'> = {
    sku,
    appUrl: target.appUrl,
    simUrl: target.simUrl,
    pollMs: b.pollMs,
    pay: b.pay,
    deadlineMs: b.deadlineMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const interrupted = () => opts.signal?.aborted === true;
  await runModel(
    scenario.model,
    async (i) => {
      const repeats = chosen(i, b.repeatFraction, 1) ? b.repeats : 0;
      const plan: Omit<BuyerPlan, 'http'> = { ...basePlan, repeats, concurrentRepeats: repeats > 0 && chosen(i, b.concurrentRepeatFraction, 2), declineFirst: chosen(i, b.declineFraction, 3) };
      const own = buyerClient();
      try {
        await runBuyer(i, { ...plan, http: own.fetch }, rec, (r) => results.push(r));
      } finally {
        idleClients.push(own);
      }
    },
    rec,
    interrupted,
  );
  const endMs = rec.now();
  for (const client of buyerClients) client.close();
  const loadAtEnd = os.loadavg()[0] ?? 0;
  if (settleTimer) clearTimeout(settleTimer);
  unsettled ??= await countUnsettled();
  clearInterval(sampler);
  cpu.sample(endMs);
  stopProgress();
  const drillResults = await drills;

  // Back to the switches the simulator had; held deliveries go out now.
  if (flusher) clearInterval(flusher);
  if (Object.keys(restore).length) await configureSim(target.simUrl, restore);
  if (switches.hold) await flushSim(target.simUrl);
  await settleSim(target.simUrl, 15_000).catch(() => undefined);
  await queues.close();

  const attempts = await deliveryAttempts(target.simUrl, rec.startedAt);
  // Every attempt, a timed-out one at the time the sender waited: leaving those out would report a slow route as fast.
  const timed = attempts ?? [];
  const answered = timed.filter((a) => a.statusCode !== null);
  const webhookTrend = timed.map((a) => ({ t: Date.parse(a.at) + a.durationMs - rec.startedAt.getTime(), v: a.durationMs }));

  const wantBaseline = opts.baseline ?? (scenario.baselineRequests ?? 0) > 0;
  const concurrency = scenario.model.kind === 'closed' ? scenario.model.concurrency : 50;
  if (wantBaseline) log(`accept path vs baseline: ${scenario.baselineRequests || 500} requests each at concurrency ${concurrency}...`);
  const baseline = wantBaseline
    ? await measureBaseline({ appUrl: target.appUrl, http: http.fetch, requests: scenario.baselineRequests || 500, concurrency, redisUrl: target.redisUrl, queuePrefix: target.queuePrefix })
    : null;
  if (baseline?.note) log(`baseline: ${baseline.note}`);
  http.close();

  log('checking exactness and running the invariant auditor...');
  const exact = await checkExactness({
    sku,
    units: scenario.units,
    results,
    // Interrupted: judge against the buyers who ran.
    expectedBuyers: results.length,
    extraOrderIds: baseline?.probeOrderIds,
    extraSkus: baseline ? [baseline.probeSku] : [],
    simUrl: target.simUrl,
    stuckAfterMs: 60_000,
  });
  // Off the storefront's catalogue again.
  await Product.updateOne({ _id: sku }, { $set: { active: false } });

  const confirmedTimes = rec.times('confirmed').map((s) => s.t);
  const lastSaleMs = confirmedTimes.length ? Math.max(...confirmedTimes) : null;
  const salesPerS = lastSaleMs ? exact.confirmed / (lastSaleMs / 1000) : 0;
  // The same until the last unit was held: what a buyer is promised before paying.
  const heldTimes = rec.times('held').map((x) => x.t);
  const lastHoldMs = heldTimes.length ? Math.max(...heldTimes) : null;
  const holdsPerS = lastHoldMs ? heldTimes.length / (lastHoldMs / 1000) : 0;
  const decided = rec.counter('held') + rec.counter('sold_out');
  const seconds = Math.max(1, Math.ceil(endMs / 1000));
  const cpuResult = cpu.result().map((r) => ({ ...r, msPerBuyer: round(r.cpuMs / scenario.model.buyers, 2) }));

  const trend = (name: string): MetricValue => ({ kind: 'trend', values: rec.values(name) });
  const counter = (name: string): MetricValue => ({ kind: 'counter', count: rec.counter(name), seconds: endMs / 1000 });
  const metrics: Record<string, MetricValue | undefined> = {
    decision_ms: trend('decision_ms'),
    confirm_ms: trend('confirm_ms'),
    e2e_ms: trend('e2e_ms'),
    place_order_ms: trend('place_order_ms'),
    arrival_lag_ms: trend('arrival_lag_ms'),
    first_byte_new_connection_ms: trend('first_byte_new_connection_ms'),
    first_byte_reused_connection_ms: trend('first_byte_reused_connection_ms'),
    buyer_errors: counter('buyer_errors'),
    connection_errors: counter('connection_errors'),
    request_retries: counter('request_retries'),
    busy_retries: counter('busy_retries'),
    stale_connection_resends: counter('stale_connection_resends'),
    confirmed: { kind: 'gauge', value: exact.confirmed },
    sales_per_s: { kind: 'gauge', value: salesPerS },
    holds_per_s: { kind: 'gauge', value: holdsPerS },
    unsettled_orders: { kind: 'gauge', value: unsettled },
    ...(attempts
      ? {
          webhook_ms: { kind: 'trend', values: timed.map((a) => a.durationMs) },
          webhook_timeouts: { kind: 'counter', count: attempts.filter((a) => a.timedOut).length, seconds: endMs / 1000 },
        }
      : {}),
    ...(baseline?.ratio != null ? { accept_baseline_ratio: { kind: 'gauge', value: baseline.ratio } } : {}),
  };
  const thresholds = evaluateThresholds(scenario.thresholds, metrics).map((t) =>
    t.metric === 'accept_baseline_ratio' && !baseline ? { ...t, ok: true, skipped: true, problem: 'not measured in this run (--no-baseline)' } : t,
  );
  const drillChecks: Check[] = drillResults.map((d) => ({ name: `drill ${describeDrill(d)}`, ok: !d.error, detail: d.error ? `${d.error} (${drillDetail(d)})` : drillDetail(d) }));
  // After a drill every order must have settled by itself (terminal, or payable and waiting for its buyer).
  const settled: Check[] = drillResults.length
    ? [{ name: 'every order settled after the drills', ok: unsettled === 0, detail: `${unsettled} orders still CREATED / INVENTORY_RESERVED / PAID or unanswered` }]
    : [];
  const checks = [...exact.checks, ...drillChecks, ...settled];

  const latency: Record<string, TrendSummary> = {};
  for (const name of ['decision_ms', 'confirm_ms', 'e2e_ms', 'place_order_ms', 'arrival_lag_ms', 'first_byte_new_connection_ms', 'first_byte_reused_connection_ms']) {
    const values = rec.values(name);
    if (values.length) latency[name] = summarize(values);
  }
  const perSecondCounts = (name: string) => perSecond(rec.times(name), seconds).map((bkt) => bkt.count);

  return {
    interrupted: interrupted(),
    ok: !interrupted() && (opts.thresholdsAdvisory === true || thresholds.every((t) => t.ok)) && checks.every((c) => c.ok),
    thresholdsAdvisory: opts.thresholdsAdvisory === true,
    scenario: { name: scenario.name, description: scenario.description, units: scenario.units, model: scenario.model, buyer: scenario.buyer, sim: Object.keys(switches).length > 0 ? switches : null },
    startedAt: rec.startedAt.toISOString(),
    durationS: round(endMs / 1000, 2),
    loadAverage: { start: round(loadAtStart, 2), end: round(loadAtEnd, 2) },
    sku,
    prefill,
    summary: {
      buyers: scenario.model.buyers,
      ordersPlaced: rec.counter('orders_placed'),
      held: rec.counter('held'),
      soldOut: rec.counter('sold_out'),
      confirmed: exact.confirmed,
      sold: exact.sold,
      available: exact.available,
      reserved: exact.reserved,
      ordersStored: exact.ordersStored,
      buyerErrors: rec.counter('buyer_errors'),
      connectionErrors: rec.counter('connection_errors'),
      requestRetries: rec.counter('request_retries'),
      busyRetries: rec.counter('busy_retries'),
      staleConnectionResends: rec.counter('stale_connection_resends'),
      unsettledOrders: unsettled,
      lastSaleAtS: lastSaleMs === null ? null : round(lastSaleMs / 1000, 2),
      salesPerS: round(salesPerS, 1),
      lastHoldAtS: lastHoldMs === null ? null : round(lastHoldMs / 1000, 2),
      holdsPerS: round(holdsPerS, 1),
      decisionsPerS: round(decided / (endMs / 1000), 1),
    },
    latency,
    webhooks: {
      available: attempts !== null,
      attempts: attempts?.length ?? 0,
      answered: answered.length,
      non2xx: answered.filter((a) => (a.statusCode ?? 0) < 200 || (a.statusCode ?? 0) >= 300).length,
      timeouts: attempts?.filter((a) => a.timedOut).length ?? 0,
      latencyMs: timed.length ? summarize(timed.map((a) => a.durationMs)) : null,
    },
    cpu: cpuResult,
    baseline,
    drills: drillResults,
    checks,
    thresholds,
    auditViolations: exact.auditViolations.slice(0, 50),
    errors: Object.fromEntries(rec.errorSamples),
    series: {
      seconds,
      arrivals: perSecondCounts('arrivals'),
      decisions: perSecond([...rec.times('held'), ...rec.times('sold_out')], seconds).map((bkt) => bkt.count),
      confirmations: perSecondCounts('confirmed'),
      errors: perSecondCounts('buyer_errors'),
      decisionMs: perSecond(rec.trends.get('decision_ms') ?? [], seconds),
      confirmMs: perSecond(rec.trends.get('confirm_ms') ?? [], seconds),
      webhookMs: perSecond(webhookTrend, seconds),
      states,
      queues: queues.series,
      cpuPercent: cpu.series,
    },
  };
}
