/**
 * The load driver's HTTP client: node:http on a keep-alive agent instead of
 * the global fetch.
 *   - Cost. The driver shares the machine with the system it measures, so
 *     every millisecond it spends per request is taken from the web app.
 *     fetch's WHATWG layers (Request, Headers, streams, Response) cost a
 *     multiple of a plain request.
 *   - Stale connections. A request written to a pooled connection just as
 *     the server's keep-alive timer closes it fails with no answer, though
 *     the server never read it. Idle connections are dropped a second before
 *     the server's `Keep-Alive: timeout` hint (Node's agent honours the hint
 *     once it has a timeout of its own). A request that still meets one (a
 *     reused connection closed before any byte of an answer) is sent once
 *     more on a new connection, as browsers do, and reported to `onResend`.
 *     A failure on a new connection, or after an answer began, is the
 *     caller's, as with fetch.
 * It speaks just enough of fetch for the tRPC client and the driver's own
 * calls: a string or URL, method, headers, a string body, an AbortSignal.
 */
import http from 'node:http';
import type { ClientFetch } from '../../src/trpc/client';

/** Idle connections are closed after this long, or a second before the server's hint if that is sooner. */
const IDLE_MS = 4_000;

export interface LiteResponse {
  ok: boolean;
  status: number;
  headers: http.IncomingHttpHeaders;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface LiteRequestInit {
  method?: string;
  headers?: Record<string, string> | [string, string][] | Headers;
  body?: string | null;
  signal?: AbortSignal | null;
}

export type LiteFetch = (input: string | URL, init?: LiteRequestInit) => Promise<LiteResponse>;

export interface HttpClientOptions {
  /** Told of each request sent again because its pooled connection had been closed by the server. */
  onResend?: () => void;
  /**
   * Told, for each answer, how long its first byte took from the request's
   * start and whether the request went on a new connection: a new one waits
   * for the server to accept it as well as to answer.
   */
  onFirstByte?: (url: URL, ms: number, newConnection: boolean) => void;
  /** Connections per host at most (a browser opens 6); unlimited by default. */
  maxSockets?: number;
}

class StaleConnection extends Error {}

function headerRecord(headers: LiteRequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  return headers;
}

export function createHttpClient(opts: HttpClientOptions = {}): { fetch: LiteFetch; close(): void } {
  const usedSockets = new WeakSet<object>();
  const agent = new http.Agent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo', ...(opts.maxSockets ? { maxSockets: opts.maxSockets } : {}) });

  const once = (url: URL, init: LiteRequestInit, headers: Record<string, string>): Promise<LiteResponse> =>
    new Promise((resolve, reject) => {
      const startedAt = performance.now();
      let newConnection = true;
      const req = http.request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined }, (res) => {
        opts.onFirstByte?.(url, performance.now() - startedAt, newConnection);
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${url.pathname}: the connection closed before the answer was complete`));
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 300, status, headers: res.headers, text: () => Promise.resolve(text), json: () => Promise.resolve().then(() => JSON.parse(text) as unknown) });
        });
      });
      // Not req.reusedSocket: a request that waited in the pool for a busy connection is not told.
      req.on('socket', (socket) => {
        newConnection = !usedSockets.has(socket);
        usedSockets.add(socket);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // No answer began on a connection the pool had kept: the server closed it idle.
        const stale = req.reusedSocket && !init.signal?.aborted && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        reject(stale ? new StaleConnection(err.message, { cause: err }) : err);
      });
      req.end(init.body ?? undefined);
    });

  const liteFetch: LiteFetch = async (input, init = {}) => {
    const url = typeof input === 'string' ? new URL(input) : input;
    const headers = headerRecord(init.headers);
    if (init.body != null) headers['content-length'] = String(Buffer.byteLength(init.body));
    try {
      return await once(url, init, headers);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      opts.onResend?.();
      return once(url, init, headers).catch((again: unknown) => {
        throw again instanceof StaleConnection ? (again.cause as Error) : again;
      });
    }
  };

  return { fetch: liteFetch, close: () => agent.destroy() };
}

/** The client as the typed tRPC client's fetch, which sends a URL string and a JSON string body. */
export function asClientFetch(liteFetch: LiteFetch): ClientFetch {
  return (input, init) => {
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('the load client takes a URL, not a Request');
    if (init?.body != null && typeof init.body !== 'string') throw new TypeError('the load client sends string bodies only');
    return liteFetch(input, init as LiteRequestInit);
  };
}
