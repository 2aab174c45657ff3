'use strict';
/**
 * One web process: Next's standalone server (server.js, beside this file in
 * .next/standalone), with the hot API paths answered in front of Next's router.
 * Once the app has started (src/instrumentation-node.ts), it installs a
 * function under a registered symbol that takes /api/trpc and the Stripe
 * webhook and returns false for anything else (src/server/http/fast-path.ts);
 * every request is offered to it first. Until it is installed, and for every
 * other path, Next answers as it always does.
 *
 * server.js builds its HTTP server inside Next (no hook for a custom server in
 * standalone output), so the one http.createServer call it makes is given the
 * wrapped listener. Everything else about the server stays Next's: its
 * keep-alive settings and its SIGTERM handling (stop accepting, answer what is
 * in flight, exit 0), which covers the requests answered here as well.
 */
const http = require('node:http');
const { wholeNumberFromEnv } = require('./env-number.cjs');

// With the pipe its output goes to gone (the supervisor killed outright), each
// write fails with EPIPE; unhandled, every failure is logged as an error whose
// log line fails again, a loop that takes a whole core. web-cluster.cjs stops
// this process once its parent is gone; until then the lines are dropped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const FAST_PATH_KEY = Symbol.for('resilient-orders.api-fast-path');
const createServer = http.createServer;

/**
 * Next listens with Node's default backlog: 511 connections may wait to be
 * accepted. A crowd connecting at once (10,000 buyers within 10 s) overflows
 * it, the kernel drops the connection attempts beyond it, and each client
 * tries again only after 1, 3, 7, 15, 31 s (TCP's retransmission of its SYN):
 * buyers waited up to half a minute for answers the server gave in
 * milliseconds. WEB_LISTEN_BACKLOG (default 4096) raises it; the kernel
 * caps it at net.core.somaxconn. Under web-cluster.cjs the primary holds the
 * listening socket and opens it with the backlog asked for here.
 */
const backlog = wholeNumberFromEnv('WEB_LISTEN_BACKLOG', 4096, 1, 65535);

http.createServer = function createServerWithFastPath(...args) {
  http.createServer = createServer; // only Next's own server
  const at = args.findIndex((arg) => typeof arg === 'function');
  if (at !== -1) {
    const nextListener = args[at];
    args[at] = function listener(req, res) {
      const fastPath = globalThis[FAST_PATH_KEY];
      if (typeof fastPath === 'function' && fastPath(req, res)) return undefined;
      return nextListener.call(this, req, res);
    };
  }
  const server = createServer.apply(this, args);
  const listen = server.listen;
  server.listen = function listenWithBacklog(...listenArgs) {
    // Next calls listen(port, hostname): the same, with the backlog.
    if (listenArgs.length === 2 && typeof listenArgs[1] === 'string') {
      return listen.call(this, { port: Number(listenArgs[0]), host: listenArgs[1], backlog });
    }
    return listen.apply(this, listenArgs);
  };
  return server;
};

require('./server.js');
