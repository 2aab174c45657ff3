/**
 * Unexpected errors (not a domain error, not a validation error: a bug, a
 * driver error nobody mapped) are answered with a generic message and a
 * reference, never with their own message, which may name internals (hosts,
 * collections, code paths). The full error is logged at error level with the
 * same reference, which is the request id, so "ref X" from a customer finds
 * the log line and everything else that request did.
 */
import { logger } from '../logger';
import { countInternalError } from '../metrics/domain-metrics';
import { currentRequestId, newRequestId } from './request-context';

export function internalErrorMessage(ref: string): string {
  return `Internal error (ref ${ref})`;
}

/** Logs the error with its reference and returns what the client may see. */
export function reportInternalError(err: unknown, transport: 'trpc' | 'webhook', fields: Record<string, unknown> = {}): string {
  const ref = currentRequestId() ?? newRequestId();
  logger.error({ ...fields, transport, ref, err }, 'unexpected error');
  countInternalError(transport);
  return internalErrorMessage(ref);
}
