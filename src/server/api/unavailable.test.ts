import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { isUnavailable } from './trpc';

describe('isUnavailable: a dependency away (503, retry with the same key) or a bug (500)', () => {
  it('counts the MongoDB driver network errors, a cleared pool included, and a socket ended mid-request', () => {
    const { MongoNetworkError, MongoServerSelectionError, MongoNetworkTimeoutError } = mongoose.mongo;
    // The driver's MongoPoolClearedError is not exported: it is a MongoNetworkError under its own name.
    class PoolCleared extends MongoNetworkError {
      override get name(): string {
        return 'MongoPoolClearedError';
      }
    }
    const poolCleared = new PoolCleared('Connection pool for 127.0.0.1:27017 was cleared');
    const epipe = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
    for (const err of [new MongoNetworkError('connection 67 closed'), poolCleared, new MongoNetworkTimeoutError('timed out'), epipe]) {
      expect(isUnavailable(err), err.name).toBe(true);
    }
    expect(isUnavailable(new MongoServerSelectionError('no server', { type: 'Unknown' } as never))).toBe(true);
  });

  it('does not excuse bugs or domain errors', () => {
    expect(isUnavailable(new TypeError('a.map is not a function'))).toBe(false);
    expect(isUnavailable(new DomainError('NOT_FOUND', 'Cart not found'))).toBe(false);
    expect(isUnavailable(undefined)).toBe(false);
  });
});
