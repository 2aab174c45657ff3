/**
 * The maintenance job's own bookkeeping (prisma-free-models/maintenance-mark.ts):
 * claiming a periodic task, and walking a keyed list in bounded pages that
 * resume where the previous pass stopped.
 */
import { MaintenanceMark } from '../../../prisma-free-models/maintenance-mark';
import { isDuplicateKeyError } from '../errors';
import type { OpenEntry } from './open-orders';

/**
 * Whether the task `name` is due, claiming it until `now + everyMs` if so.
 * One conditional update: of any number of workers asking at once, one gets
 * it (the others' upserts collide on `_id`).
 */
export async function claimDue(name: string, everyMs: number, now = new Date()): Promise<boolean> {
  try {
    const claimed = await MaintenanceMark.updateOne(
      { _id: name, $or: [{ dueAt: { $exists: false } }, { dueAt: { $lte: now } }] },
      { $set: { dueAt: new Date(now.getTime() + everyMs) } },
      { upsert: true },
    );
    return claimed.modifiedCount + claimed.upsertedCount === 1;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false; // exists and not due
    throw err;
  }
}

export interface WalkOptions {
  /** Names the walk's saved position. */
  mark: string;
  pageSize: number;
  /** At most this many pages per call; the next call resumes after the last entry seen. */
  maxPages: number;
}

/**
 * Visits the list's entries, a page at a time, in `_id` order from where the last walk stopped,
 * at most `maxPages` pages. Reaching the end starts the next walk from the
 * beginning, so every entry is visited at least once every
 * ceil(entries / (pageSize × maxPages)) walks. Returns how many were visited.
 */
export async function walkList(
  opts: WalkOptions,
  page: (after: string | undefined, limit: number) => Promise<OpenEntry[]>,
  visit: (entries: OpenEntry[]) => Promise<void>,
): Promise<number> {
  const saved = await MaintenanceMark.findById(opts.mark, { cursor: 1 }).lean<{ cursor?: string }>();
  let after = saved?.cursor ?? undefined;
  let visited = 0;
  let reachedEnd = false;
  for (let n = 0; n < opts.maxPages; n++) {
    const entries = await page(after, opts.pageSize);
    await visit(entries);
    visited += entries.length;
    after = entries[entries.length - 1]?._id ?? after;
    if (entries.length < opts.pageSize) {
      reachedEnd = true;
      break;
    }
  }
  const next = reachedEnd ? undefined : after;
  if (next !== (saved?.cursor ?? undefined)) {
    await MaintenanceMark.updateOne({ _id: opts.mark }, next === undefined ? { $unset: { cursor: 1 } } : { $set: { cursor: next } }, { upsert: true });
  }
  return visited;
}
