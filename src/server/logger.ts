/**
 * Structured JSON logs (pino). Every meaningful event carries orderId, state,
 * action and the idempotency outcome so an order's life can be followed by grep.
 */
import pino from 'pino';

export const logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { service: process.env.SERVICE_NAME ?? 'app' },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: ['*.clientSecret', '*.accessToken', 'clientSecret', 'accessToken'],
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
