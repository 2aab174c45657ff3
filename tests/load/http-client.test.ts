/**
 * The load driver's HTTP client against a real HTTP server: requests and
 * answers as fetch gives them, and the one resend it allows itself, for a
 * request that met a pooled connection the server had closed, never for a
 * failure on a new connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../load/lib/http-client';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, nthOnConnection: number) => void;

const servers: http.Server[] = [];

/** A server that counts the requests of each connection, and the connections. */
async function serve(handler: Handler): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const perSocket = new WeakMap<object, number>();
  const server = http.createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    handler(req, res, n);
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const readBody = (req: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
  });

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('load driver HTTP client', () => {
  it('sends method, headers and body, and answers status, text and JSON on one kept connection', async () => {
    const { url, connections } = await serve((req, res) => {
      void readBody(req).then((body) => {
        res.writeHead(req.method === 'POST' ? 201 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, key: req.headers['idempotency-key'], body }));
      });
    });
    const client = createHttpClient();
    try {
      const created = await client.fetch(`${url}/x`, { method: 'POST', headers: { 'Idempotency-Key': 'k1' }, body: '{"a":"é"}' });
      expect(created.ok).toBe(true);
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ method: 'POST', key: 'k1', body: '{"a":"é"}' });
      const missing = await client.fetch(new URL(`${url}/y`), { headers: [['idempotency-key', 'k2']] });
      expect(missing.ok).toBe(false);
      expect(missing.status).toBe(404);
      expect(JSON.parse(await missing.text())).toMatchObject({ method: 'GET', key: 'k2' });
      expect(connections()).toBe(1);
    } finally {
      client.close();
    }
  });

  it('sends a request again, once, when its pooled connection was closed before any answer', async () => {
    // The second request on any connection meets a server that closes it unanswered, as a keep-alive timer would.
    const { url, connections } = await serve((req, res, n) => {
      if (n > 1) return req.socket.destroy();
      res.end('ok');
    });
    let resends = 0;
    const client = createHttpClient({ onResend: () => resends++ });
    try {
      expect(await (await client.fetch(url)).text()).toBe('ok');
      expect(await (await client.fetch(url, { method: 'POST', body: 'again' })).text()).toBe('ok');
      expect(resends).toBe(1);
      expect(connections()).toBe(2);
    } finally {
      client.close();
    }
  });

  it('leaves a failure on a new connection to the caller', async () => {
    const { url } = await serve((req) => req.socket.destroy());
    let resends = 0;
    const client = createHttpClient({ onResend: () => resends++ });
    try {
      await expect(client.fetch(url, { method: 'POST', body: 'x' })).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(resends).toBe(0);
    } finally {
      client.close();
    }
  });

  it('fails an answer cut short, and stops at an abort', async () => {
    const { url } = await serve((req, res, n) => {
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      void n; // '/slow' never answers
    });
    const client = createHttpClient();
    try {
      await expect(client.fetch(`${url}/cut`)).rejects.toThrow();
      const aborter = new AbortController();
      const slow = client.fetch(`${url}/slow`, { signal: aborter.signal });
      setTimeout(() => aborter.abort(), 50);
      await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      client.close();
    }
  });

  it('reports each first byte with whether its connection was new, and keeps to maxSockets (a browser’s connections)', async () => {
    const { url, connections } = await serve((_req, res) => setTimeout(() => res.end('ok'), 20));
    const seen: [string, boolean][] = [];
    const client = createHttpClient({ maxSockets: 2, onFirstByte: (u, ms, fresh) => seen.push([u.pathname, fresh && ms >= 0]) });
    try {
      await Promise.all(['/a', '/b', '/c', '/d'].map((p) => client.fetch(`${url}${p}`).then((r) => r.text())));
      // Four at once on at most two connections: two opened, the other two waited for them.
      expect(connections()).toBe(2);
      expect(seen.filter(([, fresh]) => fresh)).toHaveLength(2);
      expect(seen.filter(([, fresh]) => !fresh)).toHaveLength(2);
      expect(seen.map(([p]) => p).sort()).toEqual(['/a', '/b', '/c', '/d']);
    } finally {
      client.close();
    }
  });
});
