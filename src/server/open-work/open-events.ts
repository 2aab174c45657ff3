/**
 * The open-events list: received webhook events not yet processed, by event
 * id, so the reconciler re-enqueues a lost processing job without searching
 * the stored events. The entry is written before the event record (the
 * reconciler's own observed successes) or with it (intake, which answers
 * Stripe only once both are written, so a delivery that stored the event but
 * not the entry is delivered again), again on every redelivery of an
 * unprocessed event, and deleted after the event is marked processed; an
 * entry whose event is processed, or missing for longer than
 * ORPHAN_ENTRY_GRACE_MS, is deleted by the reconciler (as it read it).
 */
import { randomBytes } from 'node:crypto';
import { OpenEvent } from '../../../prisma-free-models/open-work';
import type { OpenEntry } from './open-orders';

export async function openEventEntry(eventId: string, now = new Date()): Promise<void> {
  await OpenEvent.updateOne({ _id: eventId }, { $set: { at: now, token: randomBytes(8).toString('hex') } }, { upsert: true });
}

/** After the event is marked processed. */
export async function dropEventEntry(eventId: string): Promise<void> {
  await OpenEvent.deleteOne({ _id: eventId });
}

export async function closeEventEntry(entry: OpenEntry): Promise<boolean> {
  return (await OpenEvent.deleteOne({ _id: entry._id, token: entry.token })).deletedCount === 1;
}

export function openEventPage(after: string | undefined, limit: number): Promise<OpenEntry[]> {
  return OpenEvent.find(after === undefined ? {} : { _id: { $gt: after } }).sort({ _id: 1 }).limit(limit).lean<OpenEntry[]>();
}
