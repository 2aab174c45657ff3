import { UnrecoverableError, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DomainError, RetryLaterError } from '../src/server/errors';
import { permanentFailures } from './permanent-failures';

const job = {} as Job<unknown>;
const failingWith = (err: Error) => permanentFailures(() => Promise.reject(err));

describe('which job failures are retried', () => {
  it('does not retry a domain error no retry can fix', async () => {
    await expect(failingWith(new DomainError('ILLEGAL_TRANSITION', 'no'))(job)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it('retries transient failures', async () => {
    for (const err of [new RetryLaterError('later'), new DomainError('UNAVAILABLE', 'busy'), new Error('ECONNRESET')]) {
      const thrown = await failingWith(err)(job).catch((e: unknown) => e);
      expect(thrown).toBe(err);
      expect(thrown).not.toBeInstanceOf(UnrecoverableError);
    }
  });

  it('passes results through', async () => {
    await expect(permanentFailures(() => Promise.resolve('done'))(job)).resolves.toBe('done');
  });
});
