import { describe, expect, it } from 'vitest';
import { peekBoundedBody, readBoundedBody, rememberReadBody } from './bounded-body';

/** A request whose body is `chunks` chunks of `size` bytes, counting how many were pulled. */
function streamed(chunks: number, size: number, headers: Record<string, string> = {}) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
  const req = new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
  return { req, pulled: () => pulled };
}

describe('readBoundedBody', () => {
  it('reads a body within the limit', async () => {
    const { req } = streamed(4, 256);
    expect(await readBoundedBody(req, 1024)).toEqual({ ok: true, text: 'a'.repeat(1024) });
  });

  it('stops at the limit when the size is not declared, pulling at most one chunk past it', async () => {
    const { req, pulled } = streamed(10_000, 1024);
    expect(await readBoundedBody(req, 4096)).toEqual({ ok: false, reason: 'too-large' });
    expect(pulled()).toBeLessThanOrEqual(6);
  });

  it('refuses a declared Content-Length over the limit without reading', async () => {
    const { req, pulled } = streamed(10, 1024, { 'content-length': '10240' });
    expect(await readBoundedBody(req, 4096)).toEqual({ ok: false, reason: 'too-large' });
    expect(pulled()).toBeLessThanOrEqual(1);
  });

  it('works on a clone, leaving the original readable', async () => {
    const req = new Request('http://x/', { method: 'POST', body: '{"a":1}' });
    expect(await readBoundedBody(req.clone(), 100)).toEqual({ ok: true, text: '{"a":1}' });
    expect(await req.text()).toBe('{"a":1}');
    const big = new Request('http://x/', { method: 'POST', body: 'x'.repeat(200) });
    expect((await readBoundedBody(big.clone(), 100)).ok).toBe(false);
  });

  it('peeks at a body the server already holds without reading the request, within the limit', async () => {
    const bytes = Buffer.from('\uFEFF{"a":"é"}');
    const req = new Request('http://x/', { method: 'POST', body: bytes });
    rememberReadBody(req, bytes);
    expect(await peekBoundedBody(req, 100)).toEqual({ ok: true, text: '{"a":"é"}' });
    expect(req.bodyUsed).toBe(false);
    expect(await req.text()).toBe('{"a":"é"}');
    const big = new Request('http://x/', { method: 'POST', body: 'x'.repeat(200) });
    rememberReadBody(big, Buffer.from('x'.repeat(200)));
    expect(await peekBoundedBody(big, 100)).toEqual({ ok: false, reason: 'too-large' });
  });

  it('peeks through a clone at any other body', async () => {
    const { req } = streamed(2, 10);
    expect(await peekBoundedBody(req, 100)).toEqual({ ok: true, text: 'a'.repeat(20) });
    expect(await req.text()).toBe('a'.repeat(20));
  });
});
