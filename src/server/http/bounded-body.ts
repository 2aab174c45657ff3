/**
 * Reading a request body without trusting its size: a declared
 * Content-Length over the limit is refused before reading, and the bytes are
 * counted as they arrive, so a chunked body (no Content-Length) or one that
 * lies about its length is cut off at the limit instead of being buffered
 * whole. At most `limit` bytes plus one chunk are ever held.
 */
export type BoundedBody = { ok: true; text: string } | { ok: false; reason: 'too-large' };

export async function readBoundedBody(req: Request, limit: number): Promise<BoundedBody> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) return { ok: false, reason: 'too-large' };
  if (!req.body) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Stop reading; the rest of the upload is discarded by the server. Not
      // awaited: cancelling one branch of a cloned (teed) body settles only
      // once the other branch is cancelled too.
      reader.cancel().catch(() => undefined);
      return { ok: false, reason: 'too-large' };
    }
    chunks.push(value);
  }
  // Decoded as Request.text() decodes (UTF-8, a leading BOM dropped), so callers see what they saw before.
  return { ok: true, text: new TextDecoder().decode(Buffer.concat(chunks)) };
}

/**
 * Bodies the production server has already read whole (fast-path.ts), by the
 * Request built around them, so the first look at the body costs no clone
 * and no second read of a stream. Kept on globalThis: the server's bundle and
 * the route handlers' bundle each load their own copy of this module.
 */
const READ_BODIES_KEY = Symbol.for('resilient-orders.read-bodies');
const readBodies = ((globalThis as Record<symbol, unknown>)[READ_BODIES_KEY] ??= new WeakMap<Request, Uint8Array>()) as WeakMap<Request, Uint8Array>;

/** Records that `req`'s body is exactly `bytes`, already in memory. */
export function rememberReadBody(req: Request, bytes: Uint8Array): void {
  readBodies.set(req, bytes);
}

/** The body as readBoundedBody gives it, leaving the request's own body unread for the next reader. */
export function peekBoundedBody(req: Request, limit: number): Promise<BoundedBody> {
  const bytes = readBodies.get(req);
  if (!bytes) return readBoundedBody(req.clone(), limit);
  return Promise.resolve(bytes.byteLength > limit ? { ok: false, reason: 'too-large' } : { ok: true, text: new TextDecoder().decode(bytes) });
}
