/**
 * The client's side of the web app's admission (src/server/http/admission.ts):
 * a call answered BUSY was refused before it did anything, so it is sent
 * again as it was (same input, same Idempotency-Key) about a second later, as
 * its Retry-After asks, a bounded number of times. Jittered, so the callers
 * refused together do not all come back in the same instant.
 */
import { retryLink, TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AppRouter } from '../server/api/root';

/** Whether the server refused the call as busy (503 BUSY, nothing done). */
export function isBusyError(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return false;
  const data = (err as TRPCClientError<AppRouter>).data as { domainCode?: unknown } | undefined;
  return data?.domainCode === 'BUSY';
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
  return retryLink<AppRouter>({
    retry: ({ error, attempts, op }) => {
      if (!isBusyError(error) || attempts > retries) return false;
      opts.onRetry?.(op.path, attempts);
      return true;
    },
    // Retry-After is 1 s: wait 0.5–1.5 s.
    retryDelayMs: () => 500 + Math.random() * 1000,
  });
}
