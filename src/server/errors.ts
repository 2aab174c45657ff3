/**
 * Typed domain errors. Domain code throws these; one place per transport
 * (src/server/api/trpc.ts, the webhook route) maps them to wire errors.
 */
export const domainErrorCodes = {
  VALIDATION: 400,
  NOT_FOUND: 404,
  EMPTY_CART: 422,
  UNKNOWN_SKU: 422,
  IDEMPOTENCY_CONFLICT: 409,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  ILLEGAL_TRANSITION: 409,
  LIMIT_EXCEEDED: 422,
  /** The cart already became an order; details.orderId names it. */
  CART_ALREADY_ORDERED: 409,
  /** Too many calls; details.retryAfterSeconds says when to try again. */
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  /** This process is at capacity and did nothing; details.retryAfterSeconds says when to send the request again. */
  BUSY: 503,
  /** The payment provider would not refund (a dispute, a charge refunded elsewhere). */
  REFUND_REFUSED: 409,
} as const;

export type DomainErrorCode = keyof typeof domainErrorCodes;

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: { field?: string; [key: string]: unknown },
  ) {
    super(message);
  }
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}

/** MongoDB duplicate-key error (unique index), as real MongoDB and mongo-java-server report it. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err).code === 11000;
}

/**
 * A step that cannot complete yet but will later (e.g. a payment event that
 * arrived before our own write of the PaymentIntent id landed). Job
 * processors let it fail so BullMQ retries with backoff.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
}
