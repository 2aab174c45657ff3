/**
 * The hot API paths served in front of Next's router. Profiling the web
 * process under a sale showed about half its CPU in Next's own per-request
 * machinery (routing, its async storages, tracing wrappers) around route
 * handlers that do little themselves. In the production server
 * (scripts/web-process.cjs) each request is first offered to the function
 * installed here; /api/trpc and POST /api/webhooks/stripe are answered by the
 * very handlers Next's route files export (api-handlers.ts), bridged from
 * Node's request to a Fetch Request and back. Everything else, and every
 * request that arrives before this is installed, goes through Next as usual.
 * Under `next dev` nothing is installed and Next serves all paths.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { logger } from '../logger';
import { STRIPE_WEBHOOK_PATH, TRPC_ENDPOINT, fastPathHandlers } from './api-handlers';
import { rememberReadBody } from './bounded-body';
import siteHeaders from './site-headers.json';

/** Where scripts/web-process.cjs looks for the function; a registered symbol, so both sides name it alike. */
export const FAST_PATH_KEY = Symbol.for('resilient-orders.api-fast-path');

type FetchHandler = (req: Request) => Promise<Response>;

/** Headers next.config.js adds to every answer, added here too so both paths answer alike. */
const SITE_HEADERS: Readonly<Record<string, string>> = siteHeaders;

/** The handler for a request, or null when Next should take it (other paths; methods Next answers 405). */
function handlerFor(method: string | undefined, url: string): FetchHandler | null {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path === TRPC_ENDPOINT || path.startsWith(`${TRPC_ENDPOINT}/`)) {
    return method === 'GET' || method === 'POST' ? fastPathHandlers.trpc : null;
  }
  if (path === STRIPE_WEBHOOK_PATH) return method === 'POST' ? fastPathHandlers.webhook : null;
  return null;
}

/**
 * Bodies up to this size with a declared Content-Length (every call of the
 * typed client, every Stripe delivery) are read into one buffer before the
 * Request is built: a web stream over Node's stream costs more CPU per request
 * than the handler's own work. Other bodies are streamed, as before.
 */
const BUFFERED_BODY_MAX_BYTES = 64 * 1024;

function readDeclaredBody(req: IncomingMessage): Promise<Buffer> {
  // Node's parser ends the body at its declared length, so this holds at most that.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before sending the whole body'));
    });
  });
}

async function fetchRequestOf(req: IncomingMessage, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal };
  let buffered: Buffer | null = null;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const declared = Number(req.headers['content-length']);
    // The bytes as received (a Buffer is a Uint8Array; the DOM typings want one over a plain ArrayBuffer).
    if (Number.isInteger(declared) && declared >= 0 && declared <= BUFFERED_BODY_MAX_BYTES) init.body = (buffered = await readDeclaredBody(req)) as Uint8Array as BodyInit;
    else Object.assign(init, { body: Readable.toWeb(req), duplex: 'half' });
  }
  const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, init);
  if (buffered) rememberReadBody(request, buffered);
  return request;
}

/** Hop-by-hop headers are Node's to set for this connection, not the handler's. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Whether the client asked tRPC to stream its answer piece by piece (`trpc-accept: application/jsonl`). */
function wantsStream(req: IncomingMessage): boolean {
  const accept = req.headers['trpc-accept'];
  return typeof accept === 'string' && accept.includes('jsonl');
}

async function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(SITE_HEADERS)) res.setHeader(name, value);
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie' && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body) {
    res.end();
    return;
  }
  if (!wantsStream(req)) {
    // One answer in one write: cheaper than piping a web stream into Node's.
    res.end(Buffer.from(await response.arrayBuffer()));
    return;
  }
  await pipeline(Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]), res);
}

/**
 * A request whose body was not read to its end (refused by its declared
 * length, or answered before it was read) would leave the rest of the upload
 * in front of the connection's next request: read and drop it once the answer
 * is out, as Node's server does for a body no handler consumed.
 */
function discardUnreadBody(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  req.removeAllListeners('data');
  req.on('data', () => undefined);
  req.resume();
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // A client that goes away ends what waits on its behalf (orders.waitForChange).
  const aborted = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  res.on('finish', () => discardUnreadBody(req));
  try {
    await writeResponse(await handler(await fetchRequestOf(req, aborted.signal)), req, res);
  } catch (err) {
    if (aborted.signal.aborted) return; // the client left; nobody to answer
    // The handlers answer their own errors; this is the bridge failing.
    logger.error({ err, url: req.url }, 'API fast path failed');
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'Internal error' }));
    } else {
      res.destroy();
    }
  }
}

/** Answers the request and returns true, or returns false for Next to answer it. */
export function serveApiFastPath(req: IncomingMessage, res: ServerResponse): boolean {
  const handler = handlerFor(req.method, req.url ?? '/');
  if (!handler) return false;
  void answer(handler, req, res);
  return true;
}

export function installApiFastPath(): void {
  (globalThis as Record<symbol, unknown>)[FAST_PATH_KEY] = serveApiFastPath;
}
