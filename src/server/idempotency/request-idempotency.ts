/**
 * Idempotency for client requests that create something (placeOrder).
 *
 * The key, a hash of the request and the outcome are stored on the created
 * document itself under a unique index, so there is no window in which the
 * key is recorded but the document is missing or the other way round:
 *   - same key, same request  -> the stored document ("replayed");
 *   - same key, other request -> IDEMPOTENCY_CONFLICT, no record written;
 *   - N concurrent first calls -> the unique index lets exactly one insert
 *     win; the others read the winner and replay it.
 * The insert is tried first and the key looked up only when it fails: a
 * first call, by far the most common, costs no read of the key. A replay
 * reaches the stored record through the insert's failure (its duplicate key,
 * or an error the stored record explains, `mayBeTwin`), so what runs before
 * the insert must be safe to run again for a key already used (placeOrder's
 * is: its order id derives from the key, see orders/place-order.ts).
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
  /** Reads the record stored under the key, if any; called only after insert failed. */
  findByKey: (key: string) => Promise<T | null>;
  /** Inserts a new record carrying key and hash; must fail with a duplicate-key error if the key exists. */
  insert: () => Promise<T>;
  /**
   * Other failures of insert that a record already stored under the key can
   * explain (e.g. it consumed what insert needs, or a later request with the
   * key is refused by a check the stored one passed): the key is looked up and
   * its record replayed, or the conflict reported, as for a duplicate key.
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
  try {
    const record = await opts.insert();
    countIdempotencyOutcome('created');
    return { outcome: 'created', record };
  } catch (err) {
    if (!isDuplicateKeyError(err) && !opts.mayBeTwin?.(err)) throw err;
    // A record under this key, stored earlier or by a concurrent call, is replayed (or conflicts).
    const stored = await opts.findByKey(opts.key);
    if (!stored) throw err;
    return replayOrConflict(stored, opts.requestHash);
  }
}
