/**
 * Structured JSON logs (pino). Every meaningful event carries orderId, state,
 * action and the idempotency outcome so an order's life can be followed by grep.
 * Lines written while handling a request or a job also carry its requestId
 * (and, in the worker, queue, jobId and the job's orderId or eventId): see
 * observability/request-context.ts.
 */
import pino from 'pino';
import { contextLogFields } from './observability/request-context';

export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.SERVICE_NAME ?? 'app' },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: ['*.clientSecret', '*.accessToken', 'clientSecret', 'accessToken'],
  // Fields given at the call win over the context's (pino's default merge).
  mixin: contextLogFields,
});

export type Logger = typeof logger;

/** The outcome vocabulary shared by every idempotent boundary. */
export type IdempotencyOutcome =
  | 'created'
  | 'replayed'
  | 'conflict'
  | 'already-done'
  | 'refused'
  | 'applied'
  | 'skipped';
