/**
 * The simulator's state on disk, so that a restart — kill -9 included — loses
 * nothing Stripe would not: PaymentIntents, charges, refunds, disputes,
 * 3-D Secure challenges (one left open is still answerable afterwards),
 * idempotency keys, events with their deliveries (pending and held ones carry
 * on after the restart) and changes scheduled for later. Switches and request
 * counts are test instruments, not account state, and start afresh.
 *
 * Format: JSON Lines. The first line is a header; every other line is one
 * commit, a JSON array of records (state-records.ts), each the whole current
 * value of one thing. A commit is one write(2), made before the API answer
 * that depends on it is sent: a call that was answered is in the file (in the
 * OS page cache, which outlives a killed process; there is no fsync per
 * commit, so a power cut may cost the last moments — fine for a development
 * tool).
 *
 * Rewriting the whole state per change was measured at ~70 ms with 3,000 paid
 * intents; a commit costs well under a millisecond. To stay small the file
 * is compacted — rewritten with one record per live thing into a temporary
 * file that is fsync'ed and renamed over the old one — whenever the appended
 * commits outgrow the last compacted size (and `compactAfterBytes`), and when
 * it is opened without ending in a whole line.
 *
 * `<file>.lock` holds the owner's pid so that two simulators never write one
 * file; a lock left by a dead process is taken over.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { IdempotencyStore, StoredResponse } from './idempotency';
import type { ScheduledChange, Scheduler } from './scheduled';
import { EMPTY_STATE, HEADER, isRecord, parseState, StateFileError, type SavedState, type StateRecord } from './state-records';
import type { SimStore } from './store';
import type { DeliveryRecord, EventRecord, SimObject } from './types';
import type { Logger, WebhookDispatcher } from './webhooks';

export { StateFileError } from './state-records';

export const DEFAULT_COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

export interface StateFileOptions {
  /** Everything there is now, for compaction. */
  snapshot: () => StateRecord[];
  log: Logger;
  compactAfterBytes?: number;
}

/** What holds the state in memory: restored from the file, and read whole for compaction. */
export interface StateOwners {
  store: SimStore;
  idempotency: IdempotencyStore;
  dispatcher: WebhookDispatcher;
  scheduler: Scheduler;
}

/**
 * Opens the state file, hands what it holds to its owners and rewrites it
 * compacted. Throws StateFileError naming the file when it is locked or
 * damaged, before anything else has happened.
 */
export function openStateFile(
  file: string,
  owners: StateOwners,
  opts: { log: Logger; compactAfterBytes?: number },
): StateFile {
  const { store, idempotency, dispatcher, scheduler } = owners;
  const snapshot = (): StateRecord[] => [
    ...store.all().map((v): StateRecord => ({ t: 'object', v })),
    ...idempotency.list().map(([key, v]): StateRecord => ({ t: 'idempotency', key, v })),
    ...dispatcher.liveRecords().map((v): StateRecord => ({ t: 'event', v })),
    ...scheduler.list().map((v): StateRecord => ({ t: 'scheduled', v })),
  ];
  const { stateFile, state } = StateFile.open(file, { ...opts, snapshot });
  try {
    store.restore(state.objects);
    idempotency.restore(state.idempotency);
    dispatcher.restore(state.events);
    scheduler.restore(state.scheduled);
    stateFile.start();
  } catch (err) {
    stateFile.close();
    throw err;
  }
  opts.log('state restored', {
    file: stateFile.path,
    paymentIntents: store.intents.size,
    events: state.events.length,
    idempotencyKeys: state.idempotency.length,
    scheduledChanges: state.scheduled.length,
  });
  return stateFile;
}

function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}

export class StateFile {
  /** What changed since the last commit, by thing: a later change to the same thing replaces the earlier one. */
  private pending = new Map<string, () => StateRecord>();
  private commitQueued = false;
  private fd: number | null = null;
  private size = 0;
  private compactedSize = 0;
  private closed = false;
  /** Set by read(): the file ends with a whole line, so commits can follow it as it is. */
  private appendable = false;
  private readonly lockPath: string;
  private readonly compactAfterBytes: number;

  private constructor(
    readonly path: string,
    private readonly opts: StateFileOptions,
  ) {
    this.lockPath = `${path}.lock`;
    this.compactAfterBytes = opts.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
  }

  /**
   * Locks and reads the file (a missing file is an empty account). Throws
   * StateFileError naming the file when it is locked or unreadable. Call
   * start() once the state has been handed to its owners.
   */
  static open(file: string, opts: StateFileOptions): { stateFile: StateFile; state: SavedState } {
    const stateFile = new StateFile(path.resolve(file), opts);
    mkdirSync(path.dirname(stateFile.path), { recursive: true });
    stateFile.lock();
    try {
      return { stateFile, state: stateFile.read() };
    } catch (err) {
      stateFile.unlock();
      throw err;
    }
  }

  /** Opens the file for appending, first rewriting it from the restored state if it is new or ends in a torn line. */
  start(): void {
    if (!this.appendable) return this.compact();
    this.fd = openSync(this.path, 'a');
    this.size = fstatSync(this.fd).size;
    this.compactedSize = this.size; // unknown how much is superseded: compact once it has doubled
  }

  object(object: SimObject): void {
    this.mark(`o:${object.object}:${object.id}`, () => ({ t: 'object', v: object }));
  }

  idempotency(key: string, value: StoredResponse): void {
    this.mark(`i:${key}`, () => ({ t: 'idempotency', key, v: value }));
  }

  event(record: EventRecord): void {
    this.mark(`e:${record.id}`, () => ({ t: 'event', v: record }));
  }

  delivery(record: EventRecord, delivery: DeliveryRecord): void {
    this.mark(`d:${delivery.id}`, () => ({ t: 'delivery', eventId: record.id, v: delivery }));
  }

  scheduled(change: ScheduledChange, done: boolean): void {
    this.mark(`s:${change.id}`, () => (done ? { t: 'done', id: change.id } : { t: 'scheduled', v: change }));
  }

  /**
   * Writes what changed as one line. Throws StateFileError if the write fails;
   * what changed stays pending and goes out with the next commit.
   */
  commit(): void {
    if (this.closed || this.fd === null || this.pending.size === 0) return;
    const line = Buffer.from(`${JSON.stringify([...this.pending.values()].map((record) => record()))}\n`, 'utf8');
    try {
      writeAll(this.fd, line);
    } catch (err) {
      // Cut a half-written line off again, so that later commits do not follow garbage.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next start reports the torn line instead
      }
      throw new StateFileError(`could not write ${this.path}: ${String(err)}`);
    }
    this.pending.clear();
    this.size += line.length;
    if (this.size - this.compactedSize > Math.max(this.compactAfterBytes, this.compactedSize)) {
      try {
        this.compact();
      } catch (err) {
        // The commit is written; a failed rewrite only leaves the file longer than it needs to be.
        this.opts.log('state file compaction failed', { file: this.path, error: String(err) });
      }
    }
  }

  /** An empty account: the file holds the header only. */
  reset(): void {
    this.pending.clear();
    this.compact();
  }

  /**
   * Writes what is pending and lets go of the file. Changes after this are
   * not saved: closing cancels the deliveries in flight, and they must stay
   * pending in the file, to carry on at the next start.
   */
  close(): void {
    if (this.closed) return;
    try {
      this.commit();
    } finally {
      this.closed = true;
      if (this.fd !== null) closeSync(this.fd);
      this.fd = null;
      this.unlock();
    }
  }

  private mark(key: string, record: () => StateRecord): void {
    if (this.closed) return;
    this.pending.set(key, record);
    if (this.commitQueued) return;
    // Changes outside an API call (deliveries, scheduled changes) are saved
    // once the code that made them has run; API calls commit before answering.
    this.commitQueued = true;
    queueMicrotask(() => {
      this.commitQueued = false;
      try {
        this.commit();
      } catch (err) {
        this.opts.log('state file write failed', { file: this.path, error: String(err) });
      }
    });
  }

  private compact(): void {
    const records = this.opts.snapshot();
    const lines = [JSON.stringify(HEADER), ...records.map((r) => JSON.stringify([r]))];
    const text = `${lines.join('\n')}\n`;
    const temp = `${this.path}.${process.pid}.tmp`;
    const tempFd = openSync(temp, 'w');
    try {
      writeAll(tempFd, Buffer.from(text, 'utf8'));
      fsyncSync(tempFd);
    } finally {
      closeSync(tempFd);
    }
    renameSync(temp, this.path);
    syncDirectory(path.dirname(this.path));
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.size = Buffer.byteLength(text);
    this.compactedSize = this.size;
    this.pending.clear();
  }

  private read(): SavedState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return EMPTY_STATE;
      throw new StateFileError(`cannot read the payment simulator state file ${this.path}: ${String(err)}`);
    }
    const state = parseState(text, this.path, this.opts.log);
    this.appendable = state.appendable;
    return state;
  }

  private lock(): void {
    for (let tries = 0; tries < 2; tries++) {
      try {
        writeFileSync(this.lockPath, String(process.pid), { flag: 'wx' });
        return;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw new StateFileError(`cannot lock ${this.path}: ${String(err)}`);
      }
      const owner = Number(readFileSync(this.lockPath, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new StateFileError(
          `the payment simulator state file ${this.path} is in use by process ${owner}` +
            (owner === process.pid ? ' (this one: another simulator was created on the same file)' : '') +
            `; if no simulator runs, delete ${this.lockPath}`,
        );
      }
      unlinkSync(this.lockPath); // left behind by a process that is gone
    }
    throw new StateFileError(`cannot lock ${this.path}: another simulator keeps taking ${this.lockPath}`);
  }

  private unlock(): void {
    try {
      if (readFileSync(this.lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(this.lockPath);
    } catch {
      // already gone
    }
  }
}

function writeAll(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Makes a rename durable: the directory entry is data too. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not every platform can fsync a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM'; // exists, but belongs to someone else
  }
}
