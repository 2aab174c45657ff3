import { UnrecoverableError, type Processor } from 'bullmq';
import { isDomainError } from '../src/server/errors';

/**
 * Domain errors that no retry can fix (an illegal transition, a validation
 * error) fail the job at once instead of burning its retries; everything else
 * (network, Stripe, RetryLaterError, UNAVAILABLE) is retried with backoff.
 */
export function permanentFailures<T>(processor: Processor<T, unknown>): Processor<T, unknown> {
  return async (job, token): Promise<unknown> => {
    try {
      return await processor(job, token);
    } catch (err) {
      if (isDomainError(err) && err.code !== 'UNAVAILABLE') throw new UnrecoverableError(`${err.code}: ${err.message}`);
      throw err;
    }
  };
}
