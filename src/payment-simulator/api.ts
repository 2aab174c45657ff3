/**
 * The Stripe v1 surface: authentication, routing, Request-Id, and
 * Idempotency-Key handling around the PaymentIntent, Refund and Dispute
 * services.
 *
 * Idempotency follows Stripe's documentation: a POST with a key stores
 * (fingerprint of method + path + parameters, status, body) for 24 hours once
 * the endpoint has begun executing. A repeat with the same parameters gets the
 * stored answer (errors included) with `Idempotent-Replayed: true` and runs
 * nothing; a repeat with other parameters or another path is an
 * idempotency_error. Parameter-validation failures, 5xx and 409 are not
 * stored, so they can be retried under the same key.
 *
 * Keys: a secret key (`sk_test_…`, the server) may call everything; a
 * publishable key (`pk_test_…`, the customer's browser, as Stripe.js sends
 * it) only retrieves and confirms a PaymentIntent, with its client secret,
 * and gets the intent without the merchant's fields. Like api.stripe.com the
 * API answers browsers from any origin (CORS): the keys, not the origin, say
 * who may do what. The `/_sim` control API gets no CORS headers, so a web page
 * cannot read it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DisputeService } from './disputes';
import { StripeApiError } from './errors';
import { FormParseError, parseForm, requestFingerprint, type FormObject } from './form';
import { header, sendJson } from './http-util';
import { MAX_IDEMPOTENCY_KEY_LENGTH, type IdempotencyStore } from './idempotency';
import { newId } from './ids';
import type { IntentService } from './intents';
import type { RefundService } from './refunds';
import type { ApiResult } from './store';
import type { RequestContext, SimEvent } from './types';
import type { Logger } from './webhooks';

/** Used for events when the request did not send a Stripe-Version header. */
export const DEFAULT_API_VERSION = '2025-01-01';

export interface Counters {
  count(route: string): void;
  replay(route: string): void;
  conflict(): void;
}

export interface ApiDeps {
  intents: IntentService;
  refunds: RefundService;
  disputes: DisputeService;
  idempotency: IdempotencyStore;
  counters: Counters;
  /** Consumes one unit of the `dropNextResponses` switch. */
  takeResponseDrop: () => boolean;
  /** The `apiLatencyMs` switch: how long after its work each answer is sent. */
  latencyMs: () => number;
  event: (id: string) => SimEvent | undefined;
  /** A response body as a publishable key may see it (PaymentIntents without the merchant's fields). */
  toClientView: (body: unknown) => unknown;
  /** Saves what the request changed; runs before the answer is sent (throws if it cannot be saved). */
  commit: () => void;
  log: Logger;
}

interface Route {
  method: 'GET' | 'POST';
  /** Counted and logged under this name, e.g. `POST /v1/payment_intents/:id/confirm`. */
  template: string;
  pattern: RegExp;
  /** A publishable key may call it (Stripe.js's calls). */
  publishable: boolean;
  run: (id: string, params: FormObject, ctx: RequestContext) => ApiResult;
}

function routes(deps: ApiDeps): Route[] {
  const { intents, refunds, disputes } = deps;
  const r = (method: Route['method'], template: string, run: Route['run'], publishable = false): Route => ({
    method,
    template: `${method} ${template}`,
    pattern: new RegExp(`^${template.replace(':id', '([^/]+)')}$`),
    publishable,
    run,
  });
  return [
    r('POST', '/v1/payment_intents', (_id, p, ctx) => intents.create(p, ctx)),
    r('GET', '/v1/payment_intents/:id', (id, p, ctx) => intents.retrieve(id, p, ctx), true),
    r('POST', '/v1/payment_intents/:id/confirm', (id, p, ctx) => intents.confirm(id, p, ctx), true),
    r('POST', '/v1/payment_intents/:id/cancel', (id, p, ctx) => intents.cancel(id, p, ctx)),
    r('POST', '/v1/refunds', (_id, p, ctx) => refunds.create(p, ctx)),
    r('GET', '/v1/refunds/:id', (id, p) => refunds.retrieve(id, p)),
    r('GET', '/v1/charges/:id', (id, p) => refunds.retrieveCharge(id, p)),
    r('GET', '/v1/disputes/:id', (id, p) => disputes.retrieve(id, p)),
    r('GET', '/v1/events/:id', (id) => {
      const event = deps.event(id);
      if (!event) {
        throw new StripeApiError(
          404,
          { type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such event: '${id}'` },
          'execution',
        );
      }
      return { status: 200, body: event };
    }),
  ];
}

const NO_KEY_MESSAGE =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.";

const PUBLISHABLE_KEY_FORBIDDEN =
  'This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.';

function redactKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}********${key.slice(-4)}` : '********';
}

export type ApiKeyCheck = { ok: true; publishable: boolean } | { ok: false; message: string };

/** Who is calling. Accepts Bearer (the SDK, Stripe.js) and Basic (curl -u); test-mode keys only. */
export function checkApiKey(authorization: string | undefined): ApiKeyCheck {
  if (!authorization) return { ok: false, message: NO_KEY_MESSAGE };
  const space = authorization.indexOf(' ');
  const scheme = space === -1 ? authorization : authorization.slice(0, space);
  const value = space === -1 ? '' : authorization.slice(space + 1).trim();
  let key: string;
  if (/^bearer$/i.test(scheme)) key = value;
  else if (/^basic$/i.test(scheme)) key = Buffer.from(value, 'base64').toString('utf8').split(':')[0] ?? '';
  else return { ok: false, message: `Invalid Authorization header: use 'Authorization: Bearer sk_test_...'.` };
  if (!key) return { ok: false, message: NO_KEY_MESSAGE };
  if (/^(sk|rk|pk)_live_/.test(key)) {
    return { ok: false, message: 'The payment simulator only accepts test-mode keys (sk_test_..., pk_test_...); a live key was provided.' };
  }
  if (/^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key)) return { ok: true, publishable: false };
  if (/^pk_test_[A-Za-z0-9_]+$/.test(key)) return { ok: true, publishable: true };
  return { ok: false, message: `Invalid API Key provided: ${redactKey(key)}` };
}

/** What browsers need to call the API from a page of another origin, as api.stripe.com allows. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Request-Id, Stripe-Version, Idempotency-Key, Idempotent-Replayed, Original-Request',
};

/** The answer to a browser's preflight (OPTIONS) for any /v1 URL. */
export const CORS_PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  ...CORS_HEADERS,
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Stripe-Version, Idempotency-Key',
  'Access-Control-Max-Age': '600',
};

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed id simply matches nothing and yields resource_missing
  }
}

export function createApiHandler(deps: ApiDeps) {
  const table = routes(deps);

  /** `baseUrl`: how the caller reached the simulator, for URLs handed back to it. */
  return function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: string, baseUrl: string): void {
    const started = Date.now();
    const method = req.method ?? 'GET';
    const requestId = newId.request();
    const apiVersion = header(req, 'stripe-version') || DEFAULT_API_VERSION;
    // Stripe ignores Idempotency-Key on GET and DELETE: reads are naturally safe to repeat.
    const idempotencyKey = method === 'POST' ? header(req, 'idempotency-key') || undefined : undefined;
    const baseHeaders: Record<string, string> = {
      ...CORS_HEADERS,
      'Request-Id': requestId,
      'Stripe-Version': apiVersion,
      ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
    };
    let routeName = `${method} ${url.pathname}`;
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}, outcome = 'executed') => {
      const send = () => {
        sendJson(res, status, body, { ...baseHeaders, ...extra });
        deps.log('api request', {
          requestId,
          route: routeName,
          status,
          idempotencyKey: idempotencyKey ?? null,
          outcome,
          durationMs: Date.now() - started,
        });
      };
      // Stripe's own round trip, when asked for: the work is done and saved, the answer travels.
      const latency = deps.latencyMs();
      if (latency > 0) setTimeout(send, latency);
      else send();
    };

    const key = checkApiKey(header(req, 'authorization'));
    if (!key.ok) return reply(401, { error: { type: 'invalid_request_error', message: key.message } }, {}, 'unauthorized');

    let route: Route | undefined;
    let id = '';
    for (const candidate of table) {
      const match = candidate.method === method ? candidate.pattern.exec(url.pathname) : null;
      if (match) {
        route = candidate;
        id = safeDecode(match[1] ?? '');
        break;
      }
    }
    if (!route) {
      return reply(
        404,
        {
          error: {
            type: 'invalid_request_error',
            message: `Unrecognized request URL (${method}: ${url.pathname}). The payment simulator implements only part of the Stripe API.`,
          },
        },
        {},
        'unknown_route',
      );
    }
    routeName = route.template;
    if (key.publishable && !route.publishable) {
      return reply(401, { error: { type: 'invalid_request_error', message: PUBLISHABLE_KEY_FORBIDDEN } }, {}, 'unauthorized');
    }

    let params: FormObject;
    try {
      params = parseForm(method === 'POST' ? rawBody : url.search.slice(1));
    } catch (err) {
      if (!(err instanceof FormParseError)) throw err;
      return reply(400, { error: { type: 'invalid_request_error', message: err.message, param: err.param } }, {}, 'invalid');
    }

    let fingerprint = '';
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
        return reply(
          400,
          {
            error: {
              type: 'invalid_request_error',
              message: `Idempotency keys can be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.`,
            },
          },
          {},
          'invalid',
        );
      }
      fingerprint = requestFingerprint(method, url.pathname, params);
      const stored = deps.idempotency.get(idempotencyKey);
      if (stored && stored.fingerprint === fingerprint) {
        deps.counters.replay(route.template);
        return reply(
          stored.status,
          stored.body,
          { 'Idempotent-Replayed': 'true', 'Original-Request': stored.requestId },
          'replayed',
        );
      }
      if (stored) {
        deps.counters.conflict();
        return reply(
          400,
          {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            },
          },
          {},
          'idempotency_conflict',
        );
      }
    }

    deps.counters.count(route.template);
    const ctx: RequestContext = {
      requestId,
      idempotencyKey: idempotencyKey ?? null,
      apiVersion,
      baseUrl,
      ...(key.publishable ? { publishableKey: true } : {}),
    };
    let status: number;
    let body: unknown;
    let storable: boolean;
    try {
      ({ status, body } = route.run(id, params, ctx));
      storable = true;
    } catch (err) {
      if (err instanceof StripeApiError) {
        status = err.status;
        body = err.toBody();
        storable = err.stage === 'execution';
      } else {
        deps.log('simulator bug: unhandled error in API handler', { requestId, error: String(err) });
        status = 500;
        body = { error: { type: 'api_error', message: 'An unexpected error occurred in the payment simulator.' } };
        storable = false;
      }
    }
    const text = JSON.stringify(key.publishable ? deps.toClientView(body) : body, null, 2);
    if (idempotencyKey !== undefined && storable && status < 500 && status !== 409) {
      deps.idempotency.set(idempotencyKey, {
        fingerprint,
        endpoint: route.template,
        status,
        body: text,
        requestId,
      });
    }
    try {
      // Saved before anyone hears of it: an answered call survives a crash right after.
      deps.commit();
    } catch (err) {
      deps.log('state not saved: answering 500', { requestId, error: String(err) });
      return reply(500, { error: { type: 'api_error', message: 'The payment simulator could not save its state.' } }, {}, 'not_saved');
    }
    if (method === 'POST' && deps.takeResponseDrop()) {
      // The work is done and stored; the client just never hears about it.
      deps.log('api response dropped (dropNextResponses)', { requestId, route: routeName, status });
      res.socket?.destroy();
      return;
    }
    reply(status, text);
  };
}
