/**
 * Webhook delivery: records every event, signs and POSTs it to the configured
 * URL outside the API request that caused it, retries failures with
 * exponential backoff, and implements the test switches (duplicate, delay,
 * drop, hold/flush/reorder, forged or stale signatures).
 *
 * Every attempt is signed afresh with the time it is sent, as Stripe does, so
 * a slow retry schedule never trips the receiver's timestamp tolerance.
 *
 * Records and deliveries are reported to `changed` as they change, for the
 * state file; restore() puts them back after a restart, held deliveries
 * held, and resume() carries on with the pending ones, counting the attempts
 * already made.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { newId } from './ids';
import { signatureHeader } from './signing';
import type { DeliveryAttempt, DeliveryAttemptRow, DeliveryRecord, EventRecord, SimEvent, SimulatorConfig } from './types';

export type Logger = (msg: string, extra?: object) => void;

export interface DispatcherDeps {
  secret: string;
  config: () => SimulatorConfig;
  /** Consumes one unit of the `dropNext` switch; true = swallow this event. */
  takeDrop: () => boolean;
  /** An event was recorded (no delivery given) or one of its deliveries changed. */
  changed?: (record: EventRecord, delivery?: DeliveryRecord) => void;
  log: Logger;
}

interface Entry {
  record: EventRecord;
  /** Serialized once: every delivery of an event carries byte-identical JSON. */
  payload: string;
}

interface Held extends Entry {
  delivery: DeliveryRecord;
}

const RESPONSE_SNIPPET = 500;
const TIMED_OUT = 'timed out after';

/**
 * Every delivery in flight listens on one signal (its wait and its request),
 * and a burst of events easily means more than Node's default of 10.
 */
function deliverySignal(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** setTimeout as a promise that rejects when the simulator is reset or closed. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class WebhookDispatcher {
  private records: EventRecord[] = [];
  private byId = new Map<string, Entry>();
  private held: Held[] = [];
  /** Deliveries restored as pending, waiting for resume(). */
  private resumable: Held[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private abort = deliverySignal();

  constructor(private readonly deps: DispatcherDeps) {}

  /** Records an event and schedules its deliveries. Never sends synchronously. */
  publish(event: SimEvent): void {
    const payload = JSON.stringify(event, null, 2); // Stripe sends pretty-printed JSON
    const record: EventRecord = {
      id: event.id,
      type: event.type,
      createdAt: new Date(event.created * 1000).toISOString(),
      dropped: false,
      event,
      deliveries: [],
    };
    this.records.push(record);
    this.byId.set(event.id, { record, payload });
    // Reported before its deliveries, so the state file has the event first.
    this.saved(record);
    if (this.deps.takeDrop()) {
      record.dropped = true;
      this.deps.log('webhook dropped (dropNext)', { eventId: event.id, type: event.type });
      return;
    }
    const cfg = this.deps.config();
    for (let copy = 0; copy < cfg.duplicate; copy++) {
      const delivery = this.newDelivery(copy === 0 ? 'initial' : 'duplicate', cfg.hold ? 'held' : 'pending');
      record.deliveries.push(delivery);
      if (cfg.hold) {
        this.held.push({ record, payload, delivery });
      } else {
        this.track(this.run({ record, payload }, delivery, cfg.delayMs).done);
      }
    }
  }

  /** Puts back events read from the state file. Nothing is sent before resume(). */
  restore(records: EventRecord[]): void {
    for (const record of records) {
      const entry = { record, payload: JSON.stringify(record.event, null, 2) };
      this.records.push(record);
      this.byId.set(record.id, entry);
      for (const delivery of record.deliveries) {
        if (delivery.status === 'held') this.held.push({ ...entry, delivery });
        if (delivery.status === 'pending') this.resumable.push({ ...entry, delivery });
      }
    }
  }

  /** Carries on with the deliveries that were pending when the state was saved; returns how many. */
  resume(): number {
    const batch = this.resumable;
    this.resumable = [];
    for (const item of batch) this.track(this.run(item, item.delivery, 0).done);
    return batch.length;
  }

  /** The records themselves (not copies), for the state file. */
  liveRecords(): readonly EventRecord[] {
    return this.records;
  }

  /**
   * Sends every held delivery, oldest first (newest first with `reorder`).
   * They go one at a time, each waiting for its first attempt to finish, so
   * the receiver sees exactly this order; retries carry on in the background.
   */
  async flush(): Promise<number> {
    const batch = this.held;
    this.held = [];
    const cfg = this.deps.config();
    if (cfg.reorder) batch.reverse();
    const signal = this.abort.signal;
    let sent = 0;
    for (const item of batch) {
      if (signal.aborted) break; // reset or close during a flush: the rest were cleared with it
      const { firstAttempt, done } = this.run(item, item.delivery, cfg.delayMs);
      this.track(done);
      await firstAttempt;
      sent++;
    }
    this.deps.log('webhooks flushed', { sent, reordered: cfg.reorder });
    return sent;
  }

  /** Delivers one recorded event again, now, regardless of hold/drop/delay. */
  async resend(eventId: string): Promise<DeliveryRecord | undefined> {
    const entry = this.byId.get(eventId);
    if (!entry) return undefined;
    const delivery = this.newDelivery('resend', 'pending');
    entry.record.deliveries.push(delivery);
    this.saved(entry.record, delivery);
    const { firstAttempt, done } = this.run(entry, delivery, 0);
    this.track(done);
    await firstAttempt;
    return structuredClone(delivery);
  }

  events(): EventRecord[] {
    return structuredClone(this.records);
  }

  /**
   * Every attempt started at or after `sinceMs`, flat and without payloads:
   * timing the receiver over thousands of events must not copy every event.
   */
  attemptsSince(sinceMs: number): DeliveryAttemptRow[] {
    const rows: DeliveryAttemptRow[] = [];
    for (const record of this.records) {
      for (const delivery of record.deliveries) {
        for (const a of delivery.attempts) {
          if (Date.parse(a.at) < sinceMs) continue;
          rows.push({
            eventId: record.id,
            type: record.type,
            deliveryId: delivery.id,
            reason: delivery.reason,
            attempt: a.attempt,
            at: a.at,
            durationMs: a.durationMs,
            statusCode: a.statusCode,
            error: a.error,
            timedOut: a.statusCode === null && a.error !== null && a.error.startsWith(TIMED_OUT),
          });
        }
      }
    }
    return rows;
  }

  event(eventId: string): EventRecord | undefined {
    const entry = this.byId.get(eventId);
    return entry ? structuredClone(entry.record) : undefined;
  }

  heldCount(): number {
    return this.held.length;
  }

  /** Resolves once no delivery is running or waiting to retry (held ones do not count). */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
      });
      await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Cancels all pending work and forgets every event. */
  reset(): void {
    this.abort.abort();
    this.abort = deliverySignal();
    for (const item of this.held) item.delivery.status = 'canceled';
    this.held = [];
    this.resumable = [];
    this.records = [];
    this.byId = new Map();
  }

  async close(): Promise<void> {
    this.abort.abort();
    for (const item of this.held) item.delivery.status = 'canceled';
    this.held = [];
    await this.settle(5_000);
  }

  private newDelivery(reason: DeliveryRecord['reason'], status: DeliveryRecord['status']): DeliveryRecord {
    return { id: newId.delivery(), reason, status, attempts: [] };
  }

  /** Reports a change, unless the record was forgotten by a reset (a canceled delivery finishing late). */
  private saved(record: EventRecord, delivery?: DeliveryRecord): void {
    if (this.byId.get(record.id)?.record !== record) return;
    this.deps.changed?.(record, delivery);
  }

  private track(done: Promise<void>): void {
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** One delivery with its retries. `firstAttempt` settles when the first POST has been answered (or failed). */
  private run(entry: Entry, delivery: DeliveryRecord, delayMs: number): { firstAttempt: Promise<void>; done: Promise<void> } {
    let markFirst: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => {
      markFirst = resolve;
    });
    const signal = this.abort.signal;
    const { record, payload } = entry;
    const done = (async () => {
      delivery.status = 'pending';
      this.saved(record, delivery);
      try {
        // Always yield first (even with no delay): the API handler that created the
        // event must finish and send its response before any delivery starts.
        await sleep(delayMs, signal);
        const policy = { ...this.deps.config().retry };
        // A delivery resumed after a restart counts the attempts it already made.
        for (let n = delivery.attempts.length + 1; ; n++) {
          // Read the URL per attempt so a test can repoint a failing endpoint and let retries land.
          const url = this.deps.config().webhookUrl;
          if (!url) {
            delivery.status = 'no_endpoint';
            this.saved(record, delivery);
            this.deps.log('webhook not sent: no webhookUrl configured', { eventId: record.id, type: record.type });
            return;
          }
          const attempt = await this.attempt(url, payload, n, signal, policy.timeoutMs);
          delivery.attempts.push(attempt);
          const ok = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
          const last = ok || n >= policy.attempts;
          this.deps.log('webhook delivery', {
            eventId: record.id,
            type: record.type,
            deliveryId: delivery.id,
            attempt: n,
            of: policy.attempts,
            url,
            statusCode: attempt.statusCode,
            error: attempt.error,
            durationMs: attempt.durationMs,
            outcome: ok ? 'succeeded' : last ? 'failed' : 'will_retry',
          });
          if (ok || last) {
            delivery.status = ok ? 'succeeded' : 'failed';
            this.saved(record, delivery);
            return;
          }
          this.saved(record, delivery);
          markFirst(); // (on success or give-up, `finally` marks it after the status is final)
          await sleep(policy.baseDelayMs * 2 ** (n - 1), signal);
        }
      } catch (err) {
        delivery.status = signal.aborted ? 'canceled' : 'failed';
        this.saved(record, delivery);
        if (!signal.aborted) {
          this.deps.log('webhook delivery crashed', { eventId: record.id, error: String(err) });
        }
      } finally {
        markFirst();
      }
    })();
    return { firstAttempt, done };
  }

  private attempt(url: string, payload: string, n: number, signal: AbortSignal, timeoutMs: number): Promise<DeliveryAttempt> {
    const cfg = this.deps.config();
    const startedAt = Date.now();
    const timestamp = Math.floor(startedAt / 1000) + cfg.signatureTimestampOffsetSec;
    const body = Buffer.from(payload, 'utf8');
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(body.length),
      'Stripe-Signature': signatureHeader(cfg.signWithSecret ?? this.deps.secret, timestamp, payload),
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      Accept: '*/*; q=0.5, application/xml',
      'Cache-Control': 'no-cache',
    };
    return new Promise((resolve) => {
      let settled = false;
      let text = '';
      let req: http.ClientRequest | undefined;
      const timer = setTimeout(() => req?.destroy(new Error(`${TIMED_OUT} ${timeoutMs} ms`)), timeoutMs);
      const finish = (statusCode: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          attempt: n,
          at: new Date(startedAt).toISOString(),
          url,
          statusCode,
          error,
          durationMs: Date.now() - startedAt,
          responseBody: statusCode === null ? null : text,
        });
      };
      try {
        const target = new URL(url);
        // agent: false — a fresh connection per attempt, like Stripe, and no
        // keep-alive socket left to hold the process (or a test) open.
        req = (target.protocol === 'https:' ? https : http).request(target, {
          method: 'POST',
          headers,
          agent: false,
          signal,
        });
      } catch (err) {
        finish(null, err instanceof Error ? err.message : String(err));
        return;
      }
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < RESPONSE_SNIPPET) text = (text + chunk).slice(0, RESPONSE_SNIPPET);
        });
        res.on('end', () => finish(res.statusCode ?? null, null));
        res.on('error', (err) => finish(res.statusCode ?? null, err.message));
        res.on('close', () => finish(res.statusCode ?? null, null));
      });
      req.on('error', (err) => finish(null, err.message));
      req.end(body);
    });
  }
}
