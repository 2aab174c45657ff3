/**
 * The run's HTML report: one self-contained file (uPlot and its CSS inlined,
 * the data embedded as JSON), so it opens from disk or as a CI artifact with
 * no network. Charts: arrivals / decisions / confirmations per second,
 * latency percentiles over time, the buyers' orders by state, queue depths,
 * CPU per process. Tables: thresholds, checks, CPU-ms per buyer, latencies,
 * baseline, drills, machine and command.
 */
import { readFileSync } from 'node:fs';
import { describeDrill, drillDetail } from './drills';
import type { RunResult } from './run-scenario';

export interface ReportContext {
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits }));

function table(head: string[], rows: (string | number)[][]): string {
  const cells = (r: (string | number)[], tag: string) => r.map((c) => `<${tag}>${typeof c === 'number' ? fmt(c, 1) : c}</${tag}>`).join('');
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((r) => `<tr>${cells(r, 'td')}</tr>`).join('')}</tbody></table>`;
}

const verdict = (ok: boolean) => (ok ? '<span class="ok">pass</span>' : '<span class="fail">FAIL</span>');

function uplotAssets(): { js: string; css: string } {
  return {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
}

// Runs in the browser: turns the embedded series into uPlot charts.
const CHARTS = String.raw`
const R = JSON.parse(document.getElementById('data').textContent);
const S = R.series;
const secs = Array.from({ length: S.seconds }, (_, i) => i);
const palette = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
function chart(id, title, xs, named, yLabel) {
  const el = document.getElementById(id);
  if (!xs.length || !named.length) { el.textContent = title + ': no data'; return; }
  const opts = {
    title, width: Math.min(1100, el.clientWidth || 1000), height: 260,
    scales: { x: { time: false } },
    axes: [{ label: 'seconds into the run' }, { label: yLabel }],
    series: [{ label: 's' }, ...named.map(([label], i) => ({ label, stroke: palette[i % palette.length], width: 1.5, points: { show: xs.length < 60 } }))],
  };
  new uPlot(opts, [xs, ...named.map(([, ys]) => ys)], el);
}
const bucket = (b, k) => b.map((x) => x[k]);
chart('throughput', 'Per second', secs, [['arrivals', S.arrivals], ['decisions', S.decisions], ['confirmations', S.confirmations], ['buyer errors', S.errors]], 'per second');
chart('latency', 'Latency by the second it finished (ms)', secs, [
  ['decision p50', bucket(S.decisionMs, 'p50')], ['decision p99', bucket(S.decisionMs, 'p99')],
  ['confirm p50', bucket(S.confirmMs, 'p50')], ['confirm p99', bucket(S.confirmMs, 'p99')],
], 'ms');
chart('webhook', 'Webhook route answer time (ms, from the simulator)', secs, [['p50', bucket(S.webhookMs, 'p50')], ['p99', bucket(S.webhookMs, 'p99')]], 'ms');
const keysOf = (rows, field) => [...new Set(rows.flatMap((r) => Object.keys(r[field])))];
const stateKeys = keysOf(S.states, 'counts');
chart('states', "Buyers by their order's last seen state", S.states.map((r) => r.t / 1000), stateKeys.map((k) => [k, S.states.map((r) => r.counts[k] ?? 0)]), 'buyers');
const queueKeys = keysOf(S.queues, 'waiting');
chart('queues', 'Queue depth (waiting + active + delayed)', S.queues.map((r) => r.t / 1000), queueKeys.map((k) => [k, S.queues.map((r) => r.waiting[k] ?? 0)]), 'jobs');
const cpuKeys = keysOf(S.cpuPercent, 'percent');
chart('cpu', 'CPU per process (% of one core)', S.cpuPercent.map((r) => r.t / 1000), cpuKeys.map((k) => [k, S.cpuPercent.map((r) => r.percent[k] ?? 0)]), '% of a core');
`;

export function renderReport(result: RunResult, ctx: ReportContext): string {
  const { js, css } = uplotAssets();
  const s = result.summary;
  const lat = Object.entries(result.latency).map(([name, t]) => [name, t.count, t.med, t.p90, t.p95, t.p99, t.max]);
  if (result.webhooks.latencyMs) {
    const w = result.webhooks.latencyMs;
    lat.push(['webhook_ms (simulator)', w.count, w.med, w.p90, w.p95, w.p99, w.max]);
  }
  const bl = result.baseline;
  const data = JSON.stringify(result).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(result.scenario.name)} — load report ${escapeHtml(result.startedAt)}</title>
<style>${css}
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111;max-width:1150px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f4f4f5}
.ok{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:700}.chart{margin:12px 0 24px}code{background:#f4f4f5;padding:1px 4px}
</style></head><body>
<h1>${escapeHtml(result.scenario.name)}: ${verdict(result.ok)}${result.interrupted ? ' (interrupted)' : ''}</h1>
<p>${escapeHtml(result.scenario.description)}<br>Started ${escapeHtml(result.startedAt)}, ${fmt(result.durationS, 1)} s of load. Product <code>${escapeHtml(result.sku)}</code>.${result.prefill ? ` Prefilled ${fmt(result.prefill.orders)} historical orders.` : ''}</p>
<h2>Summary</h2>
${table(['buyers', 'orders placed', 'held', 'sold out', 'confirmed', 'sold', 'available', 'sales/s until the last unit', 'holds/s until the last unit', 'decisions/s', 'buyer errors', 'connection errors (retried)', 'busy answers (retried)', 'closed idle connections (sent again)', 'unsettled orders'], [
  [s.buyers, s.ordersPlaced, s.held, s.soldOut, s.confirmed, s.sold, s.available, s.salesPerS, s.holdsPerS, s.decisionsPerS, s.buyerErrors, s.connectionErrors, s.busyRetries, s.staleConnectionResends, s.unsettledOrders],
])}
<h2>Thresholds${result.thresholdsAdvisory ? ' (advisory: the run passes or fails on its checks)' : ''}</h2>
${table(['metric', 'threshold', 'measured', ''], result.thresholds.map((t) => [escapeHtml(t.metric), escapeHtml(t.expression), t.actual === null ? escapeHtml(t.problem ?? '–') : fmt(t.actual, 2), t.skipped ? 'skipped' : verdict(t.ok)]))}
<h2>Checks (always enforced)</h2>
${table(['check', 'detail', ''], result.checks.map((c) => [escapeHtml(c.name), escapeHtml(c.detail), verdict(c.ok)]))}
${result.auditViolations.length ? `<h3>Auditor violations (first ${result.auditViolations.length})</h3>${table(['check', 'subject', 'message'], result.auditViolations.map((v) => [escapeHtml(v.check), escapeHtml(v.subject), escapeHtml(v.message)]))}` : ''}
<h2>Charts</h2>
<div id="throughput" class="chart"></div><div id="latency" class="chart"></div><div id="webhook" class="chart"></div>
<div id="states" class="chart"></div><div id="queues" class="chart"></div><div id="cpu" class="chart"></div>
<h2>Latency (ms)</h2>
${table(['metric', 'count', 'p50', 'p90', 'p95', 'p99', 'max'], lat)}
<p>Webhook delivery attempts in the run (timed by the simulator, first byte sent to the answer read): ${fmt(result.webhooks.attempts)} attempts, ${fmt(result.webhooks.non2xx)} not 2xx, ${fmt(result.webhooks.timeouts)} timed out${result.webhooks.available ? '' : ' (this simulator does not report deliveries)'}.</p>
<h2>CPU per process</h2>
${table(['process', 'CPU ms', 'CPU ms per buyer', 'pids', 'commands'], result.cpu.map((c) => [escapeHtml(c.role), c.found ? c.cpuMs : 'not found', c.found ? c.msPerBuyer : '–', c.pids.join(' '), escapeHtml(c.commands.join(' '))]))}
<h2>Accept path vs baseline</h2>
${bl ? table(['phase', 'requests', 'failed', 'seconds', 'per second', 'p50 ms', 'p99 ms'], [
  ['baseline (insert + enqueue)', bl.baseline?.requests ?? '–', bl.baseline?.failed ?? '–', bl.baseline?.seconds ?? '–', bl.baseline?.perSecond ?? '–', bl.baseline?.latencyMs.med ?? '–', bl.baseline?.latencyMs.p99 ?? '–'],
  ['accept (placeOrder)', bl.accept.requests, bl.accept.failed, bl.accept.seconds, bl.accept.perSecond, bl.accept.latencyMs.med, bl.accept.latencyMs.p99],
]) + `<p>Concurrency ${bl.concurrency}; accept / baseline = <b>${fmt(bl.ratio, 2)}</b>${bl.note ? ` (${escapeHtml(bl.note)})` : ''}</p>` : '<p>Not measured in this run.</p>'}
<h2>Drills</h2>
${result.drills.length ? table(['drill', 'pid', 'fired at (s)', 'back after (s)', 'what happened', 'error'], result.drills.map((d) => [describeDrill(d), d.pid ?? '–', fmt((d.firedAtMs ?? 0) / 1000, 1), d.backAfterMs === null ? '–' : fmt(d.backAfterMs / 1000, 1), escapeHtml(drillDetail(d)), escapeHtml(d.error ?? '')])) : '<p>None.</p>'}
<h2>Machine and command</h2>
${table(['CPUs', 'model', 'memory', 'node', 'platform', 'load average at start / end (1 min)'], [[ctx.machine.cpus, escapeHtml(ctx.machine.cpuModel), `${ctx.machine.memoryGiB} GiB`, ctx.machine.node, ctx.machine.platform, `${fmt(result.loadAverage.start, 2)} / ${fmt(result.loadAverage.end, 2)}`]])}
<p><code>${escapeHtml(ctx.command)}</code></p>
${Object.keys(result.errors).length ? `<h2>Error samples</h2>${table(['kind', 'first messages'], Object.entries(result.errors).map(([k, v]) => [escapeHtml(k), v.map(escapeHtml).join('<br>')]))}` : ''}
<script id="data" type="application/json">${data}</script>
<script>${js}</script>
<script>${CHARTS}</script>
</body></html>
`;
}
