/**
 * Runs an HTTP handler (Fetch API: Request in, Response out) as one request:
 * its id is the caller's X-Request-Id when that is a sane token, else a fresh
 * one; every log line written while it runs carries it, every job it enqueues
 * carries it, and the response returns it in X-Request-Id.
 */
import { REQUEST_ID_HEADER, requestIdFrom, runInContext } from './request-context';

export function withRequestScope<R extends Response>(handler: (req: Request) => Promise<R>): (req: Request) => Promise<R> {
  return async (req) => {
    const requestId = requestIdFrom(req.headers.get(REQUEST_ID_HEADER));
    const res = await runInContext({ requestId }, () => handler(req));
    res.headers.set(REQUEST_ID_HEADER, requestId);
    return res;
  };
}
