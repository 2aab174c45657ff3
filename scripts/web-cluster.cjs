'use strict';
/**
 * Several web processes on one port: web-process.cjs (Next's standalone
 * server with the hot API paths in front of its router; both next to this file
 * once scripts/build/assemble-standalone.sh copied them into .next/standalone)
 * run WEB_PROCESSES times under Node's cluster module. One
 * Node main thread serves a few hundred requests a second of this app; the
 * primary here only forks, watches and forwards signals, and the kernel-side
 * socket is shared (the primary accepts and hands connections round-robin).
 * With WEB_PROCESSES=1 there is no primary unless WEB_PRIMARY=1: this
 * process is the one copy.
 *
 *   node web-cluster.cjs        WEB_PROCESSES (default: the CPUs Node may use, at least 1)
 *                               WEB_NICE (default 0): the copies' CPU priority below
 *                               normal, 0-19 as `nice` counts (see `nice`)
 *                               WEB_PRIMARY (default 0): 1 runs the primary even for
 *                               one copy (see below)
 *
 * Promises (with a primary; a copy serving alone is restarted by whoever
 * started it):
 *   - a worker that dies outside a stop is forked again, after 1 s, doubling
 *     to 30 s while workers keep dying within 10 s of their start;
 *   - SIGTERM or SIGINT: each worker gets SIGTERM and stops as the standalone
 *     server does (stops accepting, answers the requests in flight, exits 0);
 *     the primary exits once all have, 0 if they all exited 0;
 *   - if the primary dies, its workers exit too (cluster workers leave when
 *     their channel to the primary closes), so a supervisor restarting it
 *     finds the port free.
 * A scrape of /api/metrics is answered for all the processes together: the
 * process that took it asks the primary, which gathers every registry.
 * Plain CommonJS, needing only prom-client: it runs from the standalone
 * folder, which holds only what Next traced.
 */
const cluster = require('node:cluster');
const os = require('node:os');
const path = require('node:path');
const { wholeNumberFromEnv } = require('./env-number.cjs');

const QUICK_EXIT_MS = 10_000;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

function log(message) {
  process.stderr.write(`${JSON.stringify({ level: 30, time: new Date().toISOString(), service: 'web-cluster', msg: message })}\n`);
}

const count = wholeNumberFromEnv('WEB_PROCESSES', Math.max(1, os.availableParallelism()), 1, 256);

/**
 * On a machine shared with the processes that finish what buyers started
 * (the webhook intake, the worker, the database), a storefront at full load
 * takes the CPU from them in equal shares: webhooks answer late and paid
 * orders wait to be confirmed, so work already paid for queues behind new
 * arrivals. With WEB_NICE the copies yield the CPU to those first; the
 * storefront still gets whatever they leave. Raising one's own nice value
 * needs no privilege.
 */
const nice = wholeNumberFromEnv('WEB_NICE', 0, 0, 19);

/**
 * A copy serving alone accepts its connections in its own event loop: when a
 * burst of new connections meets a busy loop they wait in the kernel's accept
 * queue, and past its length the kernel drops them (the clients see
 * ECONNRESET). The primary accepts at once and hands each over, so a burst
 * waits in it instead. WEB_PRIMARY=1 keeps the primary for a single copy: for
 * a storefront facing crowds of new buyers; a webhook endpoint, whose sender
 * opens few connections, is better served without the hand-over.
 */
const alwaysPrimary = wholeNumberFromEnv('WEB_PRIMARY', 0, 0, 1) === 1;

function lowerPriority(pid) {
  if (nice === 0 || pid === undefined) return;
  try {
    os.setPriority(pid, nice);
  } catch (err) {
    log(`could not lower the priority of web process ${pid}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A copy still serving this long after SIGTERM is killed, so a stop always
 * ends, even with no supervisor left to escalate: longer than the longest
 * request (a 25 s orders.waitForChange) plus an idle connection's 5 s.
 */
const STOP_GRACE_MS = 60_000;

// A supervisor killed outright leaves its children to init: nobody would
// restart or stop this process, and the pipe its output went to is gone. Stop
// as on SIGTERM instead of running unsupervised.
function onParentGone(stop) {
  const parentAtStart = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentAtStart) stop(`parent ${parentAtStart} exited`);
  }, 1_000).unref();
}

if (count === 1 && !alwaysPrimary) {
  // One copy is served by this process itself. A primary would add a
  // hand-over per new connection (the primary accepts it, passes it over IPC
  // and waits for the copy's event loop to take it before passing the next), a
  // wait every webhook delivery paid, as Stripe opens a connection for each;
  // what it gives, room for a burst of new connections, is WEB_PRIMARY's.
  // Whoever started this process restarts it if it dies.
  lowerPriority(process.pid);
  log('starting 1 web process (in this process)');
  onParentGone((reason) => {
    log(`${reason}: stopping`);
    setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
    // Next's own handler: stop accepting, answer what is in flight, exit 0.
    process.kill(process.pid, 'SIGTERM');
  });
  require('./web-process.cjs');
} else {
  runCluster();
}

function runCluster() {
  cluster.setupPrimary({ exec: path.join(__dirname, 'web-process.cjs') });

  let stopping = false;
  let failedExits = 0;
  let quickExits = 0;
  const startedAt = new Map();

  function fork() {
    if (stopping) return;
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    lowerPriority(worker.process.pid);
  }

  cluster.on('exit', (worker, code, signal) => {
    const uptime = Date.now() - (startedAt.get(worker.id) ?? Date.now());
    startedAt.delete(worker.id);
    if (stopping) {
      // Only how the copies stopped counts: one that died earlier was replaced.
      if (code !== 0) failedExits += 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failedExits === 0 ? 0 : 1);
      return;
    }
    quickExits = uptime < QUICK_EXIT_MS ? quickExits + 1 : 0;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, quickExits - 1));
    log(`web process ${worker.process.pid} exited (${signal ? `signal ${signal}` : `code ${code}`}); starting another in ${delay} ms`);
    setTimeout(fork, delay);
  });

  // A scrape of /api/metrics reaches one web process; it asks here for every
  // process's metrics together (src/server/metrics/registry.ts). prom-client is
  // in the standalone folder's node_modules (a server external package).
  let aggregator = null;
  cluster.on('message', (worker, message) => {
    if (message?.type !== 'resilient-orders:metrics-req') return;
    const answer = (fields) => worker.isConnected() && worker.send({ type: 'resilient-orders:metrics-res', id: message.id, ...fields });
    try {
      if (!aggregator) aggregator = new (require('prom-client').AggregatorRegistry)();
      aggregator.clusterMetrics().then(
        (body) => answer({ body }),
        (err) => answer({ error: err.message }),
      );
    } catch (err) {
      answer({ error: err.message });
    }
  });

  function stop(reason) {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    log(`${reason}: stopping ${workers.length} web processes`);
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  onParentGone(stop);

  log(`starting ${count} web processes`);
  for (let i = 0; i < count; i += 1) fork();
}
