/**
 * The client's side of the web app's admission (src/server/http/admission.ts):
 * a call answered BUSY was refused before it did anything, so it is sent
 * again as it was (same input, same Idempotency-Key) once its Retry-After
 * (data.retryAfterSeconds) has passed, a bounded number of times. Jittered
 * (0.5–1.5× the delay), so callers refused together do not all come back in
 * the same instant.
 */
import { retryLink, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AppRouter } from '../server/api/root';

/** Whether the server refused the call as busy (503 BUSY, nothing done). */
export function isBusyError(err: unknown): boolean {
  return busyRetryAfterSeconds(err) !== null;
}

/** The Retry-After of a BUSY answer, in seconds, or null for any other outcome. */
function busyRetryAfterSeconds(err: unknown): number | null {
  if (!(err instanceof TRPCClientError)) return null;
  const data = (err as TRPCClientError<AppRouter>).data as { domainCode?: unknown; retryAfterSeconds?: unknown } | undefined;
  if (data?.domainCode !== 'BUSY') return null;
  return typeof data.retryAfterSeconds === 'number' && data.retryAfterSeconds > 0 ? data.retryAfterSeconds : 1;
}

export interface BusyRetryOptions {
  /** How many times one call is sent again after BUSY answers (default 10); then the BUSY error is the call's. */
  retries?: number;
  /** Told of each retry, e.g. to show "the shop is busy, still trying". */
  onRetry?: (path: string, attempt: number) => void;
}

export const DEFAULT_BUSY_RETRIES = 10;

export function busyRetryLink(opts: BusyRetryOptions = {}): TRPCLink<AppRouter> {
  const retries = opts.retries ?? DEFAULT_BUSY_RETRIES;
  // retryLink asks for the delay right after `retry` said yes, in the same
  // synchronous step and for the same call, so the answer's Retry-After is
  // handed over here.
  let retryAfterS = 1;
  return retryLink<AppRouter>({
    retry: ({ error, attempts, op }) => {
      const seconds = busyRetryAfterSeconds(error);
      if (seconds === null || attempts > retries) return false;
      retryAfterS = seconds;
      opts.onRetry?.(op.path, attempts);
      return true;
    },
    retryDelayMs: () => retryAfterS * 1000 * (0.5 + Math.random()),
  });
}
