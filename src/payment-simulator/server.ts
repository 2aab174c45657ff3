/**
 * Payment simulator: a local stand-in for the part of Stripe's REST API the
 * order system uses, so development and tests never need the network.
 *
 * The official `stripe` SDK talks to it unchanged:
 *   new Stripe('sk_test_anything', { host: '127.0.0.1', port, protocol: 'http' })
 *
 * State lives in memory and, given `stateFile`, in a file written before each
 * answer, so that a restart (kill -9 included) loses nothing (state-file.ts).
 * Idempotency-Key is honoured as Stripe documents it
 * (api.ts). Every state change becomes an Event delivered, really signed, to
 * `webhookUrl` after the API call returns (webhooks.ts), with switches to
 * duplicate, delay, drop, hold and reorder deliveries (types.ts:
 * SimulatorConfig). Tests drive the switches through the methods below, other
 * processes through the `/_sim` control API (control.ts).
 *
 * The customer's side is here too, as Stripe serves it to browsers: a
 * publishable key (`pk_test_…`) may retrieve and confirm a PaymentIntent with
 * its client secret, from any origin (api.ts), and the 3-D Secure test cards
 * send the customer to a challenge page (challenge-page.ts,
 * three-d-secure.ts).
 *
 * Events sent (data.object in brackets):
 *   payment_intent.succeeded / .payment_failed / .canceled  [PaymentIntent]
 *   payment_intent.requires_action  [PaymentIntent]  3-D Secure cards, on confirm
 *   charge.refunded   [Charge, with amount_refunded, refunded and `refunds` listed]
 *   refund.created    [Refund]                          (refunds.ts)
 *   refund.updated, refund.failed  [Refund, status failed] pm_card_refundFail
 *   charge.dispute.created  [Dispute]                     pm_card_createDispute
 * and with `extraEvents` also payment_intent.created, charge.succeeded,
 * charge.failed, charge.refund.updated and charge.dispute.funds_withdrawn.
 * The two test cards act `asyncDelayMs` after the call (scheduled.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CORS_PREFLIGHT_HEADERS, createApiHandler, DEFAULT_API_VERSION } from './api';
import { createChallengeHandler } from './challenge-page';
import { applyPatch, cloneConfig, defaultConfig, isHttpUrl, validatePatch } from './config';
import { createControlHandler } from './control';
import { DisputeService } from './disputes';
import { StripeApiError } from './errors';
import { emptyForm } from './form';
import { BodyTooLargeError, readBody, sendJson } from './http-util';
import { IdempotencyStore } from './idempotency';
import { newId, nowSeconds } from './ids';
import { IntentService } from './intents';
import { RefundService } from './refunds';
import { Scheduler, type ScheduledChange } from './scheduled';
import { openStateFile, type StateFile } from './state-file';
import { SimStore } from './store';
import { CHALLENGE_PATH, ThreeDSecureService, type ChallengeOutcome } from './three-d-secure';
import type {
  DeliveryAttemptRow,
  DeliveryRecord,
  EventRecord,
  PaymentIntent,
  PayResult,
  RequestContext,
  RequestCounts,
  SimEvent,
  SimObject,
  SimulatorConfig,
  SimulatorConfigPatch,
} from './types';
import { WebhookDispatcher, type Logger } from './webhooks';

export type * from './types';

export interface PaymentSimulatorOptions {
  /** Secret the receiving app verifies with (`whsec_...`). */
  webhookSecret: string;
  /** Initial (and after reset()) delivery target; omit to record events without delivering them. */
  webhookUrl?: string;
  logger?: (msg: string, extra?: object) => void;
  /**
   * Where to keep the state so that a restart loses nothing (state-file.ts);
   * omit to keep it in memory only. A damaged or locked file makes
   * createPaymentSimulator throw a StateFileError naming the file.
   */
  stateFile?: string;
  /** Compact the state file once this many bytes were appended after the last compaction (tests make it small). */
  compactAfterBytes?: number;
}

/** Everything but the server lifecycle: what the control API exposes over HTTP. */
export interface PaymentSimulatorControls {
  /** Changes some switches; returns the whole resulting configuration. Throws ConfigPatchError on bad input. */
  configure(patch: SimulatorConfigPatch): SimulatorConfig;
  config(): SimulatorConfig;
  /** Sends all held deliveries (reverse creation order when `reorder`); resolves to how many were sent. */
  flush(): Promise<number>;
  /** Every event so far, oldest first, with its delivery records. */
  events(filter?: { type?: string }): EventRecord[];
  event(eventId: string): EventRecord | undefined;
  /** Delivery attempts started at or after `sinceMs` (epoch ms), oldest event first, without payloads. */
  deliveryAttempts(sinceMs?: number): DeliveryAttemptRow[];
  /** Delivers one event again now; undefined if the event does not exist. Resolves after the first attempt. */
  resend(eventId: string): Promise<DeliveryRecord | undefined>;
  /** All PaymentIntents, oldest first; `metadata` keeps only those carrying every given pair. */
  paymentIntents(filter?: { metadata?: Record<string, string> }): PaymentIntent[];
  /**
   * Confirms as the customer would (same code path as POST
   * /v1/payment_intents/:id/confirm). A 3-D Secure card leaves the intent in
   * `requires_action`; authenticate() answers the challenge.
   */
  pay(paymentIntentId: string, paymentMethod?: string): PayResult;
  /** Answers the intent's open 3-D Secure challenge as the customer would on the challenge page. */
  authenticate(paymentIntentId: string, outcome: ChallengeOutcome): PayResult;
  requestCounts(): RequestCounts;
  /**
   * Waits until no scheduled change (asyncDelayMs) is due and no webhook
   * delivery is running or waiting to retry; false on timeout.
   */
  settle(timeoutMs?: number): Promise<boolean>;
  /** Back to the initial configuration with no objects, events, idempotency keys or counts (the state file too). */
  reset(): void;
}

export interface PaymentSimulator extends PaymentSimulatorControls {
  /** Port 0 picks a free port; host defaults to 127.0.0.1. */
  listen(port: number, host?: string): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
}

export function createPaymentSimulator(opts: PaymentSimulatorOptions): PaymentSimulator {
  if (!opts.webhookSecret) throw new Error('createPaymentSimulator: webhookSecret is required');
  if (opts.webhookUrl !== undefined && !isHttpUrl(opts.webhookUrl)) {
    throw new Error(`createPaymentSimulator: webhookUrl must be an http(s) URL, got ${opts.webhookUrl}`);
  }
  const log: Logger = opts.logger ?? (() => undefined);
  const initialConfig = () => defaultConfig(opts.webhookUrl ?? null);
  let config = initialConfig();
  let counts: RequestCounts = emptyCounts();
  // Set once the saved state is restored; until then changes have nowhere to go (and need none).
  let stateFile: StateFile | null = null;

  const dispatcher = new WebhookDispatcher({
    secret: opts.webhookSecret,
    config: () => config,
    takeDrop: () => {
      if (config.dropNext <= 0) return false;
      config = { ...config, dropNext: config.dropNext - 1 };
      return true;
    },
    changed: (record, delivery) => (delivery ? stateFile?.delivery(record, delivery) : stateFile?.event(record)),
    log,
  });

  const emit = (type: string, object: SimObject, ctx: RequestContext, previous?: Record<string, unknown>): void => {
    const event: SimEvent = {
      id: newId.event(),
      object: 'event',
      api_version: ctx.apiVersion,
      created: nowSeconds(),
      data: previous ? { object, previous_attributes: previous } : { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    log('event created', { eventId: event.id, type, objectId: object.id, requestId: ctx.requestId });
    dispatcher.publish(event);
  };

  const scheduler = new Scheduler({
    delayMs: () => config.asyncDelayMs,
    apply: (change) => applyScheduled(change),
    changed: (change, done) => stateFile?.scheduled(change, done),
    log,
  });
  const store = new SimStore({
    emit,
    extraEvents: () => config.extraEvents,
    schedule: (change) => scheduler.schedule(change),
    changed: (object) => stateFile?.object(object),
  });
  // The listening address, for 3-D Secure URLs made outside an HTTP request (pay()).
  let ownUrl = 'http://127.0.0.1';
  const threeDSecure = new ThreeDSecureService(store, () => ownUrl);
  const intents = new IntentService(store, threeDSecure);
  const refunds = new RefundService(store);
  const disputes = new DisputeService(store);
  const idempotency = new IdempotencyStore({ stored: (key, value) => stateFile?.idempotency(key, value) });

  function applyScheduled(change: ScheduledChange): void {
    // A later change has no request of its own; its events say so, as Stripe's do.
    const ctx: RequestContext = { requestId: null, idempotencyKey: null, apiVersion: change.apiVersion };
    if (change.kind === 'refund.fail') refunds.fail(change.refundId, ctx);
    else disputes.open(change.chargeId, ctx);
  }

  const handleApi = createApiHandler({
    intents,
    refunds,
    disputes,
    idempotency,
    counters: {
      count: (route) => {
        counts.counts[route] = (counts.counts[route] ?? 0) + 1;
      },
      replay: (route) => {
        counts.replays++;
        counts.replaysByRoute[route] = (counts.replaysByRoute[route] ?? 0) + 1;
      },
      conflict: () => {
        counts.idempotencyConflicts++;
      },
    },
    takeResponseDrop: () => {
      if (config.dropNextResponses <= 0) return false;
      config = { ...config, dropNextResponses: config.dropNextResponses - 1 };
      return true;
    },
    latencyMs: () => config.apiLatencyMs,
    event: (id) => dispatcher.event(id)?.event,
    toClientView: (body) => toClientView(store, body),
    commit: () => stateFile?.commit(),
    log,
  });

  const controls: PaymentSimulatorControls = {
    configure(patch) {
      config = applyPatch(config, validatePatch(patch));
      log('config changed', { patch });
      return cloneConfig(config);
    },
    config: () => cloneConfig(config),
    flush: () => dispatcher.flush(),
    events(filter) {
      const all = dispatcher.events();
      return filter?.type ? all.filter((r) => r.type === filter.type) : all;
    },
    event: (eventId) => dispatcher.event(eventId),
    deliveryAttempts: (sinceMs = 0) => dispatcher.attemptsSince(sinceMs),
    resend: (eventId) => dispatcher.resend(eventId),
    paymentIntents(filter) {
      const wanted = Object.entries(filter?.metadata ?? {});
      return [...store.intents.values()]
        .filter((pi) => wanted.every(([k, v]) => pi.metadata[k] === v))
        .map((pi) => structuredClone(pi));
    },
    pay(paymentIntentId, paymentMethod = 'pm_card_visa') {
      const params = emptyForm();
      params.payment_method = paymentMethod;
      const ctx: RequestContext = { requestId: newId.request(), idempotencyKey: null, apiVersion: DEFAULT_API_VERSION };
      try {
        const result = intents.confirm(paymentIntentId, params, ctx);
        return { ok: true, status: result.status, paymentIntent: result.body as PaymentIntent };
      } catch (err) {
        if (err instanceof StripeApiError) return { ok: false, status: err.status, error: err.toBody().error };
        throw err;
      }
    },
    authenticate(paymentIntentId, outcome) {
      const intent = store.intents.get(paymentIntentId);
      const open = intent && threeDSecure.pendingFor(intent);
      if (!intent || !open) {
        const message = intent
          ? `PaymentIntent ${paymentIntentId} has no 3-D Secure check waiting (status ${intent.status}).`
          : `No such payment_intent: '${paymentIntentId}'`;
        return { ok: false, status: intent ? 400 : 404, error: { type: 'invalid_request_error', message } };
      }
      threeDSecure.answer(open.id, open.client_secret, outcome);
      return { ok: true, status: 200, paymentIntent: store.presentIntent(intent, new Set()) };
    },
    requestCounts: () => structuredClone(counts),
    async settle(timeoutMs = 30_000) {
      // Scheduled changes first: the events they send are deliveries to wait for too.
      const deadline = Date.now() + timeoutMs;
      if (!(await scheduler.settle(timeoutMs))) return false;
      return dispatcher.settle(Math.max(0, deadline - Date.now()));
    },
    reset() {
      scheduler.reset();
      dispatcher.reset();
      store.clear();
      idempotency.clear();
      counts = emptyCounts();
      config = initialConfig();
      stateFile?.reset();
      log('simulator reset');
    },
  };

  const handleControl = createControlHandler(controls, { beforeReply: () => stateFile?.commit() });
  const handleChallenge = createChallengeHandler({ threeDSecure, intents: () => store.intents, commit: () => stateFile?.commit() });

  if (opts.stateFile !== undefined) {
    stateFile = openStateFile(opts.stateFile, { store, idempotency, dispatcher, scheduler }, { log, compactAfterBytes: opts.compactAfterBytes });
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://simulator.local');
      try {
        const body = await readBody(req);
        if (url.pathname.startsWith('/_sim/')) return await handleControl(req, res, url, body);
        if (url.pathname.startsWith('/v1/') && req.method === 'OPTIONS') {
          res.writeHead(204, CORS_PREFLIGHT_HEADERS).end();
          return;
        }
        if (url.pathname.startsWith('/v1/')) return handleApi(req, res, url, body, reachedAs(req.headers.host, ownUrl));
        const challenge = CHALLENGE_PATH.exec(url.pathname);
        if (challenge) return handleChallenge(req, res, url, challenge[1] ?? '', body);
        sendJson(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname}).` } });
      } catch (err) {
        if (err instanceof BodyTooLargeError) return; // the socket is already gone
        log('simulator bug: request failed', { path: url.pathname, error: String(err) });
        if (!res.headersSent) {
          sendJson(res, 500, { error: { type: 'api_error', message: 'An unexpected error occurred in the payment simulator.' } });
        }
      }
    })();
  });

  // The stripe SDK pools keep-alive sockets with no idle limit of its own; if the
  // server closed them after Node's default 5 s, a request could race the close,
  // get ECONNRESET and be retried by the SDK — turning into a spurious replay.
  server.keepAliveTimeout = 120_000;

  let listening = false;

  return {
    ...controls,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          listening = true;
          // Restored work carries on once the app can call back (a receiver may retrieve the object).
          scheduler.start();
          const resumed = dispatcher.resume();
          if (resumed > 0) log('webhook deliveries resumed', { count: resumed });
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          const url = `http://${shownHost}:${address.port}`;
          ownUrl = url;
          log('payment simulator listening', { url, webhookUrl: config.webhookUrl });
          resolve({ port: address.port, url });
        });
      });
    },
    async close() {
      scheduler.stop();
      // No more answers first, then the last write: nothing is answered that is not saved.
      if (listening) {
        listening = false;
        await new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          // The stripe SDK keeps connections alive; without this close() would wait for them to idle out.
          server.closeAllConnections();
        });
      }
      try {
        // Deliveries cut short below stay pending in the file, to carry on at the next start.
        stateFile?.close();
      } finally {
        await dispatcher.close();
      }
      log('payment simulator closed');
    },
  };
}

/**
 * The simulator's address as a caller reached it (its Host header), so URLs
 * handed back (the challenge page) work from where the caller is; anything
 * that does not look like a host and port falls back to our own address.
 */
function reachedAs(host: string | undefined, fallback: string): string {
  return host && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host) ? `http://${host}` : fallback;
}

/** A response body as a publishable key sees it: intents, alone or inside an error, without the merchant's fields. */
function toClientView(store: SimStore, body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const record = body as { object?: unknown; error?: { payment_intent?: PaymentIntent } };
  if (record.object === 'payment_intent') return store.presentIntentToClient(body as PaymentIntent);
  if (record.error?.payment_intent) {
    return { ...record, error: { ...record.error, payment_intent: store.presentIntentToClient(record.error.payment_intent) } };
  }
  return body;
}

function emptyCounts(): RequestCounts {
  return { counts: {}, replays: 0, replaysByRoute: {}, idempotencyConflicts: 0 };
}
