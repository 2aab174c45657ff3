/**
 * Idempotency for client requests that create something (placeOrder).
 *
 * The key, a hash of the request and the outcome are stored on the created
 * document itself under a unique index, so there is no window in which the
 * key is recorded but the document is missing or the other way round:
 *   - same key, same request  -> the stored document ("replayed");
 *   - same key, other request -> IDEMPOTENCY_CONFLICT, nothing written;
 *   - N concurrent first calls -> the unique index lets exactly one insert
 *     win; the others read the winner and replay it.
 * External calls carry keys derived from ours (see payments/).
 */
import { createHash } from 'node:crypto';
import { DomainError, isDuplicateKeyError } from '../errors';
import { countIdempotencyOutcome } from '../metrics/domain-metrics';

/** A stable hash of a JSON-like value: object keys sorted, so field order never matters. */
export function hashRequest(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, canonical(x)]),
      );
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

export interface KeyedRecord {
  requestHash: string;
}

export interface CreateOnceOptions<T extends KeyedRecord> {
  key: string;
  requestHash: string;
  /** Reads the record stored under the key, if any. */
  findByKey: (key: string) => Promise<T | null>;
  /** Inserts a new record carrying key and hash; must fail with a duplicate-key error if the key exists. */
  insert: () => Promise<T>;
  /**
   * Other failures of insert that a finished twin with the same key can cause
   * (e.g. it already consumed what insert needs): the key is looked up again
   * and its record replayed, as for a duplicate key.
   */
  mayBeTwin?: (err: unknown) => boolean;
}

export type CreateOnceResult<T> = { outcome: 'created' | 'replayed'; record: T };

function replayOrConflict<T extends KeyedRecord>(existing: T, requestHash: string): CreateOnceResult<T> {
  if (existing.requestHash !== requestHash) {
    countIdempotencyOutcome('conflict');
    throw new DomainError(
      'IDEMPOTENCY_CONFLICT',
      'This Idempotency-Key was already used with a different request; use a new key for a new order',
      { field: 'idempotencyKey' },
    );
  }
  countIdempotencyOutcome('replayed');
  return { outcome: 'replayed', record: existing };
}

export async function createOnce<T extends KeyedRecord>(opts: CreateOnceOptions<T>): Promise<CreateOnceResult<T>> {
  const existing = await opts.findByKey(opts.key);
  if (existing) return replayOrConflict(existing, opts.requestHash);
  try {
    const record = await opts.insert();
    countIdempotencyOutcome('created');
    return { outcome: 'created', record };
  } catch (err) {
    if (!isDuplicateKeyError(err) && !opts.mayBeTwin?.(err)) throw err;
    // Lost the race to a concurrent call with the same key: the winner is stored.
    const winner = await opts.findByKey(opts.key);
    if (!winner) throw err;
    return replayOrConflict(winner, opts.requestHash);
  }
}
