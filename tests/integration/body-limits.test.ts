/**
 * Request bodies are read up to a limit, whether their size is declared or
 * not: /api/trpc (TRPC_MAX_BODY_BYTES, 64 KiB by default) and the Stripe
 * webhook route (512 KiB) answer 413 for more, chunked bodies included.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { Cart, WebhookEvent } from '../../prisma-free-models';
import { MAX_WEBHOOK_BYTES } from '../../src/server/webhooks/intake';
import { appUrl, cartWith, seedProduct } from '../helpers';

const TRPC_LIMIT = 64 * 1024;

/**
 * POSTs `size` bytes of `fill` in 16 KiB chunks, with Content-Length or
 * chunked. The answer may come before the upload ends (the server stops
 * reading at its limit), so a write error after it is not a failure.
 */
function post(path: string, size: number, opts: { chunked: boolean; prefix?: string }): Promise<{ status: number; body: string }> {
  const url = new URL(`${appUrl()}${path}`);
  const payload = Buffer.alloc(size, ' ');
  if (opts.prefix) payload.write(opts.prefix);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=x' };
  if (!opts.chunked) headers['content-length'] = size;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    for (let at = 0; at < size; at += 16 * 1024) req.write(payload.subarray(at, at + 16 * 1024));
    req.end();
  });
}

describe('body size limits', () => {
  it('tRPC: 413 over the limit, declared or chunked, and nothing runs', async () => {
    const sku = await seedProduct(3);
    const cartId = await cartWith([]);
    // Valid JSON for addLine, padded with whitespace past the limit.
    const prefix = JSON.stringify({ cartId, sku, qty: 1 });
    for (const chunked of [false, true]) {
      const answer = await post('/api/trpc/cart.addLine', TRPC_LIMIT + 1, { chunked, prefix });
      expect(answer.status, `chunked=${chunked}`).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } } });
    }
    expect((await Cart.findById(cartId).lean())?.lines).toEqual([]);
    // At the limit it is read and runs.
    const atLimit = await post('/api/trpc/cart.addLine', TRPC_LIMIT, { chunked: true, prefix });
    expect(atLimit.status).toBe(200);
    expect((await Cart.findById(cartId).lean())?.lines).toEqual([{ sku, qty: 1 }]);
  });

  it('webhook: 413 over its limit, declared or chunked, and nothing is recorded', async () => {
    for (const chunked of [false, true]) {
      const answer = await post('/api/webhooks/stripe', MAX_WEBHOOK_BYTES + 1, { chunked, prefix: '{"id":"evt_too_big"' });
      expect(answer.status, `chunked=${chunked}`).toBe(413);
    }
    expect(await WebhookEvent.exists({ _id: 'evt_too_big' })).toBeNull();
    // Within the limit the body is read and its signature checked (a made-up one: 400).
    expect((await post('/api/webhooks/stripe', 1024, { chunked: true, prefix: '{}' })).status).toBe(400);
  });
});
