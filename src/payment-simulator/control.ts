/**
 * The control API (`/_sim/...`, JSON, no auth): lets tests and scripts in
 * other processes flip switches, inspect state and act as the customer. It is
 * a thin JSON layer over the programmatic controls, so both behave the same.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigPatchError, validatePatch } from './config';
import { FormParseError, parseForm } from './form';
import { sendJson } from './http-util';
import type { PaymentSimulatorControls } from './server';

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return {};
  return JSON.parse(raw) as unknown;
}

/** `?metadata[orderId]=x` → { orderId: 'x' } */
function metadataFilter(search: string): Record<string, string> | undefined {
  const query = parseForm(search.startsWith('?') ? search.slice(1) : search);
  const metadata = query.metadata;
  if (metadata === undefined) return undefined;
  if (typeof metadata === 'string') throw new FormParseError('metadata filter must look like metadata[key]=value', 'metadata');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new FormParseError(`metadata[${k}] must be a value`, `metadata[${k}]`);
    out[k] = v;
  }
  return out;
}

export interface ControlOptions {
  /** Saves what the request changed (a payment, a reset); runs before the answer is sent. */
  beforeReply?: () => void;
}

export function createControlHandler(sim: PaymentSimulatorControls, opts: ControlOptions = {}) {
  return async function handleControl(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: string): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const send = (status: number, body: unknown) => {
      opts.beforeReply?.();
      sendJson(res, status, body);
    };
    const fail = (status: number, message: string) => send(status, { error: { message } });
    let m: RegExpExecArray | null;

    try {
      if (method === 'GET' && path === '/_sim/health') return send(200, { ok: true });
      if (method === 'GET' && path === '/_sim/config') return send(200, sim.config());
      if (method === 'POST' && path === '/_sim/config') return send(200, sim.configure(validatePatch(parseJson(rawBody))));
      if (method === 'POST' && path === '/_sim/reset') {
        sim.reset();
        return send(200, { ok: true, config: sim.config() });
      }
      if (method === 'POST' && path === '/_sim/flush') return send(200, { delivered: await sim.flush() });
      if (method === 'POST' && path === '/_sim/settle') {
        const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 10_000);
        if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return fail(400, 'timeoutMs must be a non-negative number');
        return send(200, { settled: await sim.settle(timeoutMs) });
      }
      if (method === 'GET' && path === '/_sim/events') {
        const type = url.searchParams.get('type');
        return send(200, sim.events(type ? { type } : undefined));
      }
      if (method === 'GET' && (m = /^\/_sim\/events\/([^/]+)$/.exec(path))) {
        const record = sim.event(decodeURIComponent(m[1] ?? ''));
        return record ? send(200, record) : fail(404, 'no such event');
      }
      if (method === 'POST' && (m = /^\/_sim\/events\/([^/]+)\/resend$/.exec(path))) {
        const delivery = await sim.resend(decodeURIComponent(m[1] ?? ''));
        return delivery ? send(200, delivery) : fail(404, 'no such event');
      }
      if (method === 'GET' && path === '/_sim/deliveries') {
        // ?since= an ISO time or epoch milliseconds; read-only.
        const since = url.searchParams.get('since');
        const sinceMs = since === null ? 0 : /^\d+$/.test(since) ? Number(since) : Date.parse(since);
        if (!Number.isFinite(sinceMs)) return fail(400, 'since must be an ISO time or epoch milliseconds');
        return send(200, sim.deliveryAttempts(sinceMs));
      }
      if (method === 'GET' && path === '/_sim/payment_intents') {
        const metadata = metadataFilter(url.search);
        return send(200, sim.paymentIntents(metadata ? { metadata } : undefined));
      }
      if (method === 'POST' && (m = /^\/_sim\/payment_intents\/([^/]+)\/pay$/.exec(path))) {
        const body = parseJson(rawBody);
        const paymentMethod =
          typeof body === 'object' && body !== null ? (body as { paymentMethod?: unknown }).paymentMethod : undefined;
        if (paymentMethod !== undefined && typeof paymentMethod !== 'string') {
          return fail(400, 'paymentMethod must be a string such as pm_card_visa');
        }
        const result = sim.pay(decodeURIComponent(m[1] ?? ''), paymentMethod);
        return send(result.status, result.ok ? result.paymentIntent : { error: result.error });
      }
      if (method === 'POST' && (m = /^\/_sim\/payment_intents\/([^/]+)\/authenticate$/.exec(path))) {
        const body = parseJson(rawBody);
        const outcome = typeof body === 'object' && body !== null ? (body as { outcome?: unknown }).outcome : undefined;
        if (outcome !== 'complete' && outcome !== 'fail') return fail(400, 'outcome must be "complete" or "fail"');
        const result = sim.authenticate(decodeURIComponent(m[1] ?? ''), outcome);
        return send(result.status, result.ok ? result.paymentIntent : { error: result.error });
      }
      if (method === 'GET' && path === '/_sim/requests') return send(200, sim.requestCounts());
      return fail(404, `unknown control endpoint ${method} ${path}`);
    } catch (err) {
      if (err instanceof ConfigPatchError || err instanceof FormParseError || err instanceof SyntaxError || err instanceof URIError) {
        return fail(400, err.message);
      }
      throw err;
    }
  };
}
