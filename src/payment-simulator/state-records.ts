/**
 * What a line of the state file holds (state-file.ts) and how the file is
 * read back into state.
 *
 * Reading is strict: anything but a valid commit stops the simulator with an
 * error naming the file and line, because starting with part of the payments
 * missing would be worse than not starting. The one exception is a torn last
 * line without its newline — a commit cut short by the process dying in the
 * middle of the write, so its request was never answered — which is dropped
 * with a warning.
 */
import type { StoredResponse } from './idempotency';
import type { ScheduledChange } from './scheduled';
import type { DeliveryRecord, DeliveryStatus, EventRecord, SimObject } from './types';
import type { Logger } from './webhooks';

/** The whole current value of one thing; the last record of a thing wins. */
export type StateRecord =
  | { t: 'object'; v: SimObject }
  | { t: 'idempotency'; key: string; v: StoredResponse }
  | { t: 'event'; v: EventRecord }
  | { t: 'delivery'; eventId: string; v: DeliveryRecord }
  | { t: 'scheduled'; v: ScheduledChange }
  | { t: 'done'; id: string };

export interface SavedState {
  objects: SimObject[];
  idempotency: Array<[string, StoredResponse]>;
  events: EventRecord[];
  scheduled: ScheduledChange[];
  /** False when the file does not end with a whole line: it must be rewritten before anything is appended. */
  appendable: boolean;
}

export const EMPTY_STATE: SavedState = { objects: [], idempotency: [], events: [], scheduled: [], appendable: false };

/** The first line of every state file. */
export const HEADER = { format: 'resilient-orders payment simulator state', version: 1 };

export class StateFileError extends Error {
  override name = 'StateFileError';
}

const OBJECT_KINDS = new Set(['payment_intent', 'charge', 'refund', 'dispute', 'source']);
const DELIVERY_STATUSES = new Set<DeliveryStatus>(['held', 'pending', 'succeeded', 'failed', 'no_endpoint', 'canceled']);
const SCHEDULED_KINDS = new Set(['refund.fail', 'dispute.open']);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the text of the state file at `file` (named in every error). */
export function parseState(text: string, file: string, log: Logger): SavedState {
  const fail = (line: number, problem: string): never => {
    throw new StateFileError(
      `the payment simulator state file ${file} is damaged (line ${line}: ${problem}). ` +
        'Refusing to start rather than lose payments silently; move the file away to start with an empty account.',
    );
  };
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  if (complete) lines.pop();
  let header: unknown;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    fail(1, text === '' ? 'the file is empty' : 'no header');
  }
  if (!isRecord(header) || header.format !== HEADER.format) return fail(1, 'not a payment simulator state file');
  if (header.version !== HEADER.version) fail(1, `unsupported version ${JSON.stringify(header.version)}`);

  const state = new RestoredState();
  for (let i = 1; i < lines.length; i++) {
    let commit: unknown;
    try {
      commit = JSON.parse(lines[i] ?? '');
    } catch {
      if (i === lines.length - 1 && !complete) {
        log('state file: dropped a torn last line (a write cut short by a crash, never answered)', {
          file,
          line: i + 1,
          bytes: Buffer.byteLength(lines[i] ?? ''),
        });
        break;
      }
      fail(i + 1, 'not valid JSON');
    }
    if (!Array.isArray(commit)) fail(i + 1, 'not a list of records');
    for (const record of commit as unknown[]) {
      const problem = state.apply(record);
      if (problem) fail(i + 1, problem);
    }
  }
  return { ...state.result(), appendable: complete };
}

/** The state as read so far: the last value of each thing, in the order things first appeared. */
class RestoredState {
  private readonly objects = new Map<string, SimObject>();
  private readonly idempotency = new Map<string, StoredResponse>();
  private readonly events = new Map<string, EventRecord>();
  private readonly scheduled = new Map<string, ScheduledChange>();

  /** Applies one record; returns what is wrong with it, if anything. */
  apply(record: unknown): string | undefined {
    if (!isRecord(record)) return 'a record that is not an object';
    const v = record.v;
    switch (record.t) {
      case 'object':
        if (!isRecord(v) || typeof v.id !== 'string' || typeof v.object !== 'string' || !OBJECT_KINDS.has(v.object)) {
          return 'an object record without id and a known object type';
        }
        this.objects.set(`${v.object}:${v.id}`, v as unknown as SimObject);
        return;
      case 'idempotency':
        if (
          typeof record.key !== 'string' ||
          !isRecord(v) ||
          typeof v.fingerprint !== 'string' ||
          typeof v.status !== 'number' ||
          typeof v.body !== 'string' ||
          typeof v.storedAt !== 'number'
        ) {
          return 'a malformed idempotency record';
        }
        this.idempotency.set(record.key, v as unknown as StoredResponse);
        return;
      case 'event':
        if (!isRecord(v) || typeof v.id !== 'string' || !isRecord(v.event) || !Array.isArray(v.deliveries) || !v.deliveries.every(isDelivery)) {
          return 'a malformed event record';
        }
        this.events.set(v.id, v as unknown as EventRecord);
        return;
      case 'delivery': {
        const event = typeof record.eventId === 'string' ? this.events.get(record.eventId) : undefined;
        if (!event) return `a delivery for an unknown event ${JSON.stringify(record.eventId)}`;
        if (!isDelivery(v)) return 'a malformed delivery record';
        const at = event.deliveries.findIndex((d) => d.id === v.id);
        if (at === -1) event.deliveries.push(v);
        else event.deliveries[at] = v;
        return;
      }
      case 'scheduled':
        if (!isRecord(v) || typeof v.id !== 'string' || typeof v.kind !== 'string' || !SCHEDULED_KINDS.has(v.kind) || typeof v.dueAt !== 'number') {
          return 'a malformed scheduled change';
        }
        this.scheduled.set(v.id, v as unknown as ScheduledChange);
        return;
      case 'done':
        if (typeof record.id !== 'string') return 'a malformed done record';
        this.scheduled.delete(record.id);
        return;
      default:
        return `an unknown record type ${JSON.stringify(record.t)}`;
    }
  }

  result(): Omit<SavedState, 'appendable'> {
    return {
      objects: [...this.objects.values()],
      idempotency: [...this.idempotency.entries()],
      events: [...this.events.values()],
      scheduled: [...this.scheduled.values()],
    };
  }
}

function isDelivery(value: unknown): value is DeliveryRecord {
  return isRecord(value) && typeof value.id === 'string' && DELIVERY_STATUSES.has(value.status as DeliveryStatus) && Array.isArray(value.attempts);
}
