/**
 * Idempotency-Key store, following Stripe's documented v1 behaviour:
 * a key remembers the fingerprint of the first request (method, path and
 * parameters) and the exact status and body it produced, for 24 hours.
 *
 * No "in progress" state is needed: the API handlers run synchronously between
 * looking a key up and storing the result, so two requests with one key can
 * never interleave inside this single-threaded process.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

export interface StoredResponse {
  fingerprint: string;
  /** `METHOD /path` the key was first used with, for the conflict message and logs. */
  endpoint: string;
  status: number;
  /** The serialized body, so a replay is byte-for-byte the original. */
  body: string;
  requestId: string;
  storedAt: number;
}

export interface IdempotencyStoreOptions {
  ttlMs?: number;
  now?: () => number;
  /** Called with every stored response; the state file writes it out. */
  stored?: (key: string, value: StoredResponse) => void;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, StoredResponse>();
  private lastSweep = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: IdempotencyStoreOptions = {}) {
    this.ttlMs = opts.ttlMs ?? IDEMPOTENCY_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  get(key: string): StoredResponse | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.storedAt >= this.ttlMs) {
      // Past 24 hours the key is forgotten and a reuse is a brand-new request.
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: Omit<StoredResponse, 'storedAt'>): void {
    const entry = { ...value, storedAt: this.now() };
    this.entries.set(key, entry);
    this.opts.stored?.(key, entry);
    this.sweep();
  }

  /** Puts back keys read from the state file, keeping their original time: a restart does not extend the 24 hours. */
  restore(entries: Iterable<[string, StoredResponse]>): void {
    const now = this.now();
    for (const [key, entry] of entries) {
      if (now - entry.storedAt < this.ttlMs) this.entries.set(key, entry);
    }
  }

  /** The live keys, for the state file. */
  list(): Array<[string, StoredResponse]> {
    const now = this.now();
    return [...this.entries.entries()].filter(([, entry]) => now - entry.storedAt < this.ttlMs);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  // Bounded memory for long-running simulators: drop expired keys at most once a minute.
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) {
      if (now - entry.storedAt >= this.ttlMs) this.entries.delete(key);
    }
  }
}
