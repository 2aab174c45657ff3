/**
 * Hostile input, property-based (fast-check): random and malicious requests at
 * every tRPC procedure and at the Stripe webhook route, over real HTTP against
 * the app the suite started. For every generated case:
 *   - never a 5xx (non-batch and batch tRPC answers, the webhook route);
 *   - a rejected request stores nothing: order / cart / webhook-event counts,
 *     the stock of every product, the watched carts and orders are unchanged;
 *   - an input wrong in exactly one field is refused with a 4xx whose
 *     `data.field` (or, when null, message) names that field;
 * and the bounds the schemas promise hold, checked against reference predicates
 * written from the documented contract (quantities 1..100, at most 50 lines,
 * lengths, email / SKU / country / postal-code formats, Idempotency-Key).
 *
 * A failure prints fast-check's seed, path and shrunk counterexample;
 * `FC_SEED=<seed>` replays a run.
 */
import { request as httpRequest } from 'node:http';
import { TRPCClientError } from '@trpc/client';
import fc from 'fast-check';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { Cart, Order, Product, WebhookEvent } from '../../prisma-free-models';
import type { AppRouter } from '../../src/server/api/root';
import { createOrdersClient } from '../../src/trpc/client';
import { api, appUrl, cartWith, customer, env, newKey, seedProduct, waitForState } from '../helpers';

// ---------------------------------------------------------------------------
// Run settings
// ---------------------------------------------------------------------------

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const runs = (numRuns: number) => ({ numRuns, ...(seed === undefined ? {} : { seed }) });

// ---------------------------------------------------------------------------
// Wire helpers
// ---------------------------------------------------------------------------

interface ErrData {
  code?: string;
  httpStatus?: number;
  path?: string;
  domainCode?: string | null;
  field?: string | null;
  zodError?: unknown;
}
interface Envelope {
  result?: { data?: unknown };
  error?: { message?: string; code?: number; data?: ErrData };
}
interface Answer {
  status: number;
  text: string;
  json: unknown;
  /** tRPC envelopes: one for a non-batch call, one per call for a batch; null if the body is not tRPC JSON. */
  envelopes: Envelope[] | null;
}

const trpcUrl = (path: string, query = '') => `${appUrl()}/api/trpc/${path}${query ? `?${query}` : ''}`;
const webhookUrl = () => `${appUrl()}/api/webhooks/stripe`;

async function send(method: string, url: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Answer> {
  const stream = typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream;
  const res = await fetch(url, { method, headers: init.headers, body: init.body, ...(stream ? { duplex: 'half' } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  const envelopes = Array.isArray(json)
    ? (json as Envelope[])
    : json !== null && typeof json === 'object' && ('error' in json || 'result' in json)
      ? [json as Envelope]
      : null;
  return { status: res.status, text, json, envelopes };
}

const show = (v: unknown, max = 240): string => {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
};

function expectNot5xx(a: Answer, label: string): void {
  expect(a.status, `${label}: HTTP ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  for (const e of a.envelopes ?? []) {
    if (e.error) expect(e.error.data?.httpStatus ?? 0, `${label}: ${show(e.error, 400)}`).toBeLessThan(500);
  }
}

/** Refused as a whole: a 4xx and, when the answer is tRPC JSON, no call succeeded. */
function expectRefused(a: Answer, label: string): void {
  expectNot5xx(a, label);
  expect(a.status, `${label}: HTTP ${a.status} ${a.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  for (const e of a.envelopes ?? []) expect(e.result, `${label}: a call succeeded: ${show(e, 300)}`).toBeUndefined();
}

/** The outcome of a typed-client call. */
interface Outcome {
  ok: boolean;
  status: number;
  data: ErrData | undefined;
  message: string;
  value?: unknown;
}

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    const value = await p;
    return { ok: true, status: 200, data: undefined, message: '', value };
  } catch (err) {
    if (!(err instanceof TRPCClientError)) throw err;
    const e = err as TRPCClientError<AppRouter>;
    const data = e.data as ErrData | undefined;
    const response = (e.meta as { response?: { status?: number } } | undefined)?.response;
    return { ok: false, status: data?.httpStatus ?? response?.status ?? -1, data, message: e.message };
  }
}

const client = (headers: Record<string, string> = {}) => createOrdersClient(appUrl(), { headers: () => headers });

// ---------------------------------------------------------------------------
// What a rejected request must not change
// ---------------------------------------------------------------------------

const watchedCarts = new Set<string>();
const watchedOrders = new Set<string>();

interface World {
  orders: number;
  carts: number;
  events: number;
  stock: string[];
  watchedCarts: { id: string; lines: string[]; updatedAt: number | null }[];
  watchedOrders: string[];
}

async function world(): Promise<World> {
  const [orders, carts, events, products, cartDocs, orderDocs] = await Promise.all([
    Order.countDocuments(),
    Cart.countDocuments(),
    WebhookEvent.countDocuments(),
    Product.find({}, { available: 1, reserved: 1, sold: 1, holds: 1 }).sort({ _id: 1 }).lean(),
    Cart.find({ _id: { $in: [...watchedCarts] } }, { lines: 1, updatedAt: 1 }).sort({ _id: 1 }).lean(),
    Order.find({ _id: { $in: [...watchedOrders] } }, { state: 1, history: 1, pendingRelease: 1, closeReason: 1 }).sort({ _id: 1 }).lean(),
  ]);
  return {
    orders,
    carts,
    events,
    stock: products.map((p) => `${p._id}: available ${p.available} reserved ${p.reserved} sold ${p.sold} holds ${p.holds.length}`),
    watchedCarts: cartDocs.map((c) => ({
      id: c._id,
      lines: c.lines.map((l) => `${l.sku}x${l.qty}`),
      updatedAt: (c as { updatedAt?: Date }).updatedAt?.getTime() ?? null,
    })),
    watchedOrders: orderDocs.map((o) => `${o._id}: ${o.state} (${o.history.length} steps) ${o.closeReason ?? ''}`),
  };
}

async function expectUnchanged(before: World, label: string): Promise<void> {
  expect(await world(), `${label}: a rejected request changed stored state`).toEqual(before);
}

// ---------------------------------------------------------------------------
// Reference predicates: the bounds as documented (README, schemas' contract)
// ---------------------------------------------------------------------------

const isStr = (v: unknown): v is string => typeof v === 'string';
/** Lengths are counted in code points (an emoji is one character), as the schemas count them. */
const len = (s: string) => [...s].length;
const ok = {
  capability: (v: unknown) => isStr(v) && v.length >= 20 && v.length <= 64 && /^[A-Za-z0-9_-]+$/.test(v),
  orderId: (v: unknown) => isStr(v) && /^ord_[a-f0-9]{24}$/.test(v),
  sku: (v: unknown) => isStr(v) && v.trim().length >= 2 && v.trim().length <= 64 && /^[A-Z0-9][A-Z0-9-]*$/.test(v.trim()),
  qty: (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 100,
  text: (max: number) => (v: unknown) => isStr(v) && len(v.trim()) >= 1 && len(v.trim()) <= max,
  optText: (max: number) => (v: unknown) => v === undefined || (isStr(v) && len(v.trim()) <= max),
  postalCode: (v: unknown) => isStr(v) && /^[A-Za-z0-9 -]{3,12}$/.test(v.trim()),
  country: (v: unknown) => isStr(v) && /^[A-Za-z]{2}$/.test(v.trim()),
  // The documented format is zod's email pattern; max 254.
  email: (v: unknown) =>
    isStr(v) &&
    v.length <= 254 &&
    /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/.test(v),
  idempotencyKey: (v: unknown) => isStr(v) && v.length >= 8 && v.length <= 255 && /^[A-Za-z0-9_.:-]+$/.test(v),
  optIdempotencyKey: (v: unknown) => v === undefined || ok.idempotencyKey(v),
  object: (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v),
};

/** What the server receives after JSON encoding (NaN → null, undefined → absent). */
const wire = (v: unknown): unknown => (v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown));

/** What fetch sends for a header value: leading and trailing HTTP whitespace stripped. */
const headerWire = (v: string) => v.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

// ---------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------

const WEIRD = [
  '\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u000b', '\u001b', '\u007f', '\u0085', '\u00a0', '\u200b', '\u200e',
  '\u202e', '\u2028', '\u2029', '\ufeff', '\ud800', '\udfff', '\uffff', 'é', 'ß', 'İ', 'Ａ', '١', '😀', '<', '>', '"', "'",
  '`', '\\', '/', '{', '}', '$', '%', '&', ';', '#', '?', '=', '+', '*', '|', '^', '~', '!', '@', ' ', ',', ':', '.', '_', '-',
];
const weirdChar = fc.constantFrom(...WEIRD);
const noise = fc.string({ unit: fc.oneof(weirdChar, fc.constantFrom(...'AZaz09')), minLength: 1, maxLength: 80 });
const blank = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\ufeff', '\u3000'), maxLength: 6 });
const nanLike = fc.constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', 'null', 'true', '0x1A', '1e3', '-0', '', ' ', '[]', '{}', '1', '50');
/** A string longer than `max`: 10k chars at most. `ascii` keeps GET URLs under the server's header limit. */
const tooLong = (max: number, ascii = false) =>
  fc
    .tuple(fc.constantFrom(...(ascii ? ['x', 'A', '9', '-', '_'] : ['x', 'A', '9', 'é', '€', '😀', '\u0000', '<'])), fc.integer({ min: max + 1, max: 10_000 }))
    .map(([c, n]) => c.repeat(n));
const nested = fc.tuple(fc.integer({ min: 1, max: 800 }), fc.boolean()).map(([depth, asArray]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
});
const protoObject = fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v)}}`) as unknown);
const mongoOperator = fc.constantFrom<unknown>({ $gt: '' }, { $ne: null }, { $regex: '.*' }, { $where: 'sleep(100)' }, { $exists: true }, { constructor: { prototype: { polluted: true } } });
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  nested,
  protoObject,
  mongoOperator,
);
const notANumber = fc.oneof(nanLike, noise, fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 3 }), nested, protoObject, mongoOperator);
const badNumber = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 101 }),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, 1e21, 5e-324, 100.5, 0.5, 1.5, 99.99, 100.00000000000001, NaN, Infinity, -Infinity, -0, Number.MAX_SAFE_INTEGER),
);

const AZ09 = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const b64url = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'];
const keyChars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-'];

/** One invalid character spliced into an otherwise valid string. */
const spliced = (valid: fc.Arbitrary<string>, bad: fc.Arbitrary<string> = weirdChar) =>
  fc.tuple(valid, bad, fc.nat()).map(([s, c, i]) => s.slice(0, i % (s.length + 1)) + c + s.slice(i % (s.length + 1)));

const validCapability = fc.string({ unit: fc.constantFrom(...b64url), minLength: 20, maxLength: 64 });
const validSku = fc
  .tuple(fc.constantFrom(...AZ09), fc.string({ unit: fc.constantFrom(...AZ09, '-'), minLength: 1, maxLength: 63 }))
  .map(([a, b]) => a + b);

interface FieldBad {
  /** Invalid values for the field (filtered through the reference predicate, so they really are invalid). */
  bad: (opts: { ascii: boolean }) => fc.Arbitrary<unknown>;
}
const badFor = (valid: (v: unknown) => boolean, ...specific: fc.Arbitrary<unknown>[]) => (opts: { ascii: boolean }) =>
  fc.oneof(notAString, noise, blank, nanLike, tooLong(64, opts.ascii), ...specific).filter((v) => !valid(wire(v)));

const FIELDS = {
  capability: {
    bad: (o) =>
      badFor(
        ok.capability,
        fc.string({ unit: fc.constantFrom(...b64url), maxLength: 19 }),
        tooLong(64, o.ascii),
        spliced(validCapability, o.ascii ? fc.constantFrom(...'!$%&()*+,./:;<=>?@[]^`{|}~ .') : weirdChar),
      )(o),
  },
  orderId: {
    bad: (o) =>
      badFor(
        ok.orderId,
        fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg'), minLength: 20, maxLength: 28 }).map((h) => `ord_${h}`),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }).map((h) => ` ord_${h}\n`),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }).map((h) => `ORD_${h}`),
        tooLong(64, o.ascii),
      )(o),
  },
  sku: {
    bad: (o) =>
      badFor(
        ok.sku,
        validSku.map((s) => s.toLowerCase()),
        validSku.map((s) => `-${s}`),
        fc.constantFrom(...AZ09),
        tooLong(64, o.ascii),
        spliced(validSku, o.ascii ? fc.constantFrom(...'_ .!$a/') : weirdChar),
      )(o),
  },
  qty: { bad: () => fc.oneof(badNumber, notANumber).filter((v) => !ok.qty(wire(v))) },
  text: (max: number) => ({
    bad: (o: { ascii: boolean }) => fc.oneof(notAString, blank, fc.constant(''), tooLong(max, o.ascii)).filter((v) => !ok.text(max)(wire(v))),
  }),
  optText: (max: number) => ({
    bad: (o: { ascii: boolean }) => fc.oneof(notAString, tooLong(max, o.ascii)).filter((v) => !ok.optText(max)(wire(v))),
  }),
  postalCode: {
    bad: (o) =>
      badFor(
        ok.postalCode,
        fc.constantFrom('<script>', '12', 'x'.repeat(13), '560_001', '560001\u0000', '５６０００１', '56\n0001', '१२३४५६'),
        fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 2 }),
        fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 13, maxLength: 40 }),
        spliced(fc.constantFrom('560001', 'SW1A 1AA', '90210-1234'), fc.constantFrom('_', '<', '\u0000', 'é', '.', '/')),
      )(o),
  },
  country: {
    bad: (o) =>
      badFor(
        ok.country,
        fc.constantFrom('India', 'I', 'IND', '1N', 'ÄÖ', 'I\u0000', 'I N', 'ＩＮ', '--'),
        fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 3, maxLength: 12 }),
      )(o),
  },
  email: {
    bad: (o) =>
      badFor(
        ok.email,
        fc.constantFrom('not-an-email', 'a@', '@example.com', 'a@@example.com', 'a b@example.com', 'a@example', 'a@example.c', '.a@example.com', 'a.@example.com', 'a..b@example.com', 'a@-example.com', ' a@example.com', 'a@example.com ', 'a@example.com\n', 'a@exa mple.com', 'a@example.123'),
        fc.integer({ min: 255, max: 5000 }).map((n) => `${'a'.repeat(n - '@example.com'.length)}@example.com`),
        spliced(fc.constant('asha@example.com'), fc.constantFrom(' ', '\u0000', '<', '>', '(', ')', ',', ';', ':', '\\', '"', '[', ']', '@')),
      )(o),
  },
  idempotencyKey: {
    bad: (o) =>
      badFor(
        ok.optIdempotencyKey,
        fc.string({ unit: fc.constantFrom(...keyChars), maxLength: 7 }),
        fc.integer({ min: 256, max: 10_000 }).map((n) => 'k'.repeat(n)),
        spliced(fc.string({ unit: fc.constantFrom(...keyChars), minLength: 8, maxLength: 40 }), fc.constantFrom(' ', '/', '+', '=', '!', '"', '#', '%', ',', ';', '~', 'é', '\u0000', '\n', '😀')),
      )(o),
  },
  object: {
    bad: () => fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), noise, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), nested.filter(Array.isArray)),
  },
} satisfies Record<string, FieldBad | ((max: number) => FieldBad)>;

// ---------------------------------------------------------------------------
// Break exactly one field of a valid input
// ---------------------------------------------------------------------------

type Path = readonly string[];
interface FieldSpec {
  path: Path;
  spec: FieldBad;
}
interface ObjectSpec {
  path: Path;
  keys: readonly string[];
}
type Break = { kind: 'field'; path: Path; value: unknown } | { kind: 'extra'; path: Path; key: string; value: unknown };

const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'admin', 'isAdmin', 'priceMinor', 'totalMinor', 'unitPriceMinor', 'state', 'paid', '$where', '$set', '$gt', 'lines', '_id', 'accessToken', 'idempotency_key', 'Idempotency-Key'),
  fc.string({ unit: fc.constantFrom(...'abcxyzAZ09_-$. '), minLength: 1, maxLength: 16 }),
);

function breaks(fields: readonly FieldSpec[], objects: readonly ObjectSpec[], ascii: boolean): fc.Arbitrary<Break> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.constantFrom(...fields).chain((f) => f.spec.bad({ ascii }).map((value): Break => ({ kind: 'field', path: f.path, value }))),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...objects)
        .chain((o) =>
          fc
            .tuple(extraKey.filter((k) => !o.keys.includes(k)), fc.jsonValue({ maxDepth: 2 }))
            .map(([key, value]): Break => ({ kind: 'extra', path: o.path, key, value })),
        ),
    },
  );
}

function applyBreak(base: Record<string, unknown>, b: Break): Record<string, unknown> {
  const copy = structuredClone(base);
  const parent = b.kind === 'field' ? b.path.slice(0, -1) : b.path;
  let obj = copy;
  for (const k of parent) obj = obj[k] as Record<string, unknown>;
  const key = b.kind === 'field' ? b.path[b.path.length - 1]! : b.key;
  if (b.value === undefined) delete obj[key];
  // defineProperty, so that "__proto__" becomes an own key that JSON carries.
  else Object.defineProperty(obj, key, { value: b.value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function describeBreak(b: Break): string {
  return b.kind === 'field' ? `${b.path.join('.')} = ${show(b.value)}` : `extra key ${show(b.key)} in ${b.path.join('.') || 'input'}`;
}

/** A 400 naming the broken field (data.field, or the message when data.field is null). */
function expectNamesField(o: Outcome, b: Break, label: string): void {
  const detail = `${label}: HTTP ${o.status} field=${show(o.data?.field)} domainCode=${show(o.data?.domainCode)} message=${show(o.message, 300)}`;
  expect(o.ok, `${label}: accepted (${show(o.value)})`).toBe(false);
  expect(o.status, detail).toBe(400);
  const full = b.path.join('.');
  if (b.kind === 'field') {
    const field = o.data?.field;
    if (field) expect(field === full || field.startsWith(`${full}.`), detail).toBe(true);
    else expect(o.message.includes(full), detail).toBe(true);
  } else {
    expect(o.message.includes(b.key) || o.message.includes(JSON.stringify(b.key)), detail).toBe(true);
    expect(o.data?.field ?? '', detail).toBe(full);
  }
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

let P1 = '';
let P2 = '';
let P3 = '';
let PQ = '';
/** A cart with two lines, the target of every broken placeOrder. */
let cartA = '';
/** An empty cart: a placeOrder valid in every field answers EMPTY_CART, so bounds can be probed without creating orders. */
let emptyCart = '';
let order = { orderId: '', accessToken: '' };

const stripe = new Stripe('sk_test_unused');
const secret = () => env('STRIPE_WEBHOOK_SECRET');
const sign = (payload: string, opts: { secret?: string; timestamp?: number; scheme?: string } = {}) =>
  stripe.webhooks.generateTestHeaderString({
    payload,
    secret: opts.secret ?? secret(),
    ...(opts.timestamp === undefined ? {} : { timestamp: opts.timestamp }),
    ...(opts.scheme === undefined ? {} : { scheme: opts.scheme }),
  });

beforeAll(async () => {
  [P1, P2, P3, PQ] = await Promise.all([seedProduct(20), seedProduct(20), seedProduct(5), seedProduct(1000)]);
  cartA = await cartWith([
    { sku: P1, qty: 2 },
    { sku: P2, qty: 3 },
  ]);
  emptyCart = (await api().cart.create.mutate()).cartId;
  const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: await cartWith([{ sku: P3, qty: 1 }]), customer });
  // Let the order settle (held stock, PaymentIntent) so that nothing moves while properties run.
  await waitForState(placed.orderId, ['PAYMENT_PENDING']);
  order = { orderId: placed.orderId, accessToken: placed.accessToken };
  for (const c of [cartA, emptyCart]) watchedCarts.add(c);
  watchedOrders.add(order.orderId);
});

// ---------------------------------------------------------------------------
// 1. Raw HTTP at the tRPC endpoint
// ---------------------------------------------------------------------------

const MUTATIONS = ['cart.create', 'cart.addLine', 'cart.updateLine', 'cart.removeLine', 'checkout.placeOrder', 'orders.cancel'] as const;
const QUERIES = ['catalog.list', 'cart.get', 'orders.get'] as const;

/** Percent-encodes UTF-8 bytes (lone surrogates become U+FFFD, as a browser would send them). */
const pct = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const hostileJsonText = fc.constantFrom(
  '',
  '{',
  '}',
  'null',
  '[]',
  '"x"',
  '0',
  'NaN',
  '1e999',
  '-',
  '{"a":1}{"b":2}',
  '\ufeff{}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"0":{"__proto__":{"x":1}}}',
  '{"0":null,"1":[]}',
  '{"json":{"cartId":"x"}}',
  '"\\ud800"',
  '{"cartId":{"$gt":""},"sku":{"$ne":null},"qty":1}',
  '{"orderId":{"$ne":null},"accessToken":{"$ne":null}}',
);
const rawBody = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ 0: v })) },
  { weight: 2, arbitrary: hostileJsonText },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean()).map(([d, arr]) => (arr ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d))) },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 700_000 }).map((n) => JSON.stringify({ cartId: 'x'.repeat(n), 0: 'y'.repeat(n) })) },
);
const contentType = fc.constantFrom<string | null>(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=utf-16le',
  'application/jsonx',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/octet-stream',
  '*/*',
  null,
);
/** Header values fetch can send (it refuses control characters other than tab itself). */
const headerValue = fc.string({ unit: fc.oneof(fc.constantFrom(...keyChars), fc.constantFrom(' ', '\t', '/', '"', '%', ',', ';', '=', 'é', 'ÿ')), maxLength: 300 });

describe('hostile input: raw HTTP at /api/trpc', () => {
  it('POSTs random bodies, content types and headers at every mutation: never 5xx, nothing stored unless a cart is created', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MUTATIONS),
        rawBody,
        contentType,
        fc.boolean(),
        fc.option(headerValue),
        fc.constantFrom<string | null>(null, 'application/jsonl'),
        async (path, body, ct, batch, idemKey, accept) => {
          const headers: Record<string, string> = {};
          if (ct !== null) headers['content-type'] = ct;
          if (idemKey !== null) headers['idempotency-key'] = idemKey;
          if (accept !== null) headers['trpc-accept'] = accept;
          const label = `POST ${path}${batch ? '?batch=1' : ''} ct=${show(ct)} accept=${show(accept)} key=${show(idemKey, 40)} body=${show(body, 160)}`;
          const before = await world();
          // A Uint8Array body: fetch adds no content-type of its own.
          const a = await send('POST', trpcUrl(path, batch ? 'batch=1' : ''), { body: Buffer.from(body, 'utf8'), headers });
          expectNot5xx(a, label);
          // A streamed (jsonl) batch answers 200 and carries its errors inside.
          const streamed = batch && accept !== null;
          if (path === 'cart.create') {
            // cart.create takes no input: it may ignore the body (one new cart) or refuse it (nothing new).
            const after = await world();
            const created = after.carts - before.carts;
            expect({ ...after, carts: before.carts }, label).toEqual(before);
            if (a.status >= 400) expect(created, `${label}: refused yet created a cart`).toBe(0);
            else if (!streamed) expect(created, `${label}: HTTP ${a.status}`).toBe(1);
          } else {
            if (!streamed) expectRefused(a, label);
            await expectUnchanged(before, label);
          }
        },
      ),
      runs(150),
    );
  });

  it('GETs random ?input= (batch and not) at every query and mutation: never 5xx, nothing stored', async () => {
    const inputValue = fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.json({ maxDepth: 3 }), hostileJsonText);
    const query = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(inputValue, fc.boolean()).map(([input, batch]) => `${batch ? 'batch=1&' : ''}input=${pct(input)}`) },
      {
        weight: 2,
        arbitrary: fc.constantFrom('', 'input=', 'input=%', 'input=%ZZ', 'input=%FF%FE', 'input=1&input=2', 'batch=1', 'batch=1&input=1', 'batch=0&input=%7B%7D', 'batch=true', 'batch=1&input=%5B%5D', 'input=%00', 'connectionParams=%7B', 'connectionParams=1', 'input=%7B%7D&connectionParams=%7B%22a%22%3A1%7D'),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map(pct) },
      { weight: 1, arbitrary: fc.integer({ min: 17_000, max: 40_000 }).map((n) => `input=${'x'.repeat(n)}`) },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...QUERIES, ...MUTATIONS), query, async (path, q) => {
        const label = `GET ${path}?${show(q, 200)}`;
        const before = await world();
        const a = await send('GET', trpcUrl(path, q));
        expectNot5xx(a, label);
        // catalog.list takes no input and may ignore it; everything else must be refused (405 for a mutation).
        if (path !== 'catalog.list') expectRefused(a, label);
        await expectUnchanged(before, label);
      }),
      runs(120),
    );
  });

  it('answers unknown, prototype-named and mixed-type paths with any method without a 5xx', async () => {
    const path = fc.oneof(
      fc.constantFrom(
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'cart.__proto__',
        'cart.constructor',
        '__proto__.polluted',
        'cart',
        'cart.',
        '.cart.get',
        'cart..get',
        'cart.get,cart.addLine',
        'cart.create,catalog.list',
        'catalog.list,catalog.list,catalog.list',
        'a'.repeat(4000),
        '%00',
        '..%2F..%2Fetc%2Fpasswd',
      ),
      fc.string({ unit: 'binary', maxLength: 40 }).map(pct),
    );
    await fc.assert(
      fc.asyncProperty(
        path,
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
        fc.boolean(),
        fc.option(fc.json({ maxDepth: 2 })),
        async (p, method, batch, body) => {
          const label = `${method} /api/trpc/${show(p, 120)}${batch ? '?batch=1' : ''} body=${show(body, 80)}`;
          const before = await world();
          const withBody = body !== null && method !== 'GET' && method !== 'HEAD';
          const a = await send(method, trpcUrl(p, batch ? 'batch=1' : ''), {
            ...(withBody ? { body, headers: { 'content-type': 'application/json' } } : {}),
          });
          expectNot5xx(a, label);
          // Only catalog.list can answer a batch of reads here; nothing may be written.
          await expectUnchanged(before, label);
        },
      ),
      runs(100),
    );
  });
});

// ---------------------------------------------------------------------------
// 2. Typed client: valid inputs with exactly one field broken
// ---------------------------------------------------------------------------

const CUSTOMER_KEYS = ['name', 'email', 'address'] as const;
const ADDRESS_KEYS = ['line1', 'line2', 'city', 'state', 'postalCode', 'country'] as const;

describe('hostile input: one broken field, typed client', () => {
  async function breakProperty(opts: {
    base: () => Record<string, unknown>;
    fields: FieldSpec[];
    objects: ObjectSpec[];
    ascii: boolean;
    call: (input: unknown) => Promise<unknown>;
    numRuns: number;
  }) {
    await fc.assert(
      fc.asyncProperty(breaks(opts.fields, opts.objects, opts.ascii), async (b) => {
        const input = applyBreak(opts.base(), b);
        const label = `${describeBreak(b)} (input ${show(input, 300)})`;
        const before = await world();
        expectNamesField(await outcome(opts.call(input)), b, label);
        await expectUnchanged(before, label);
      }),
      runs(opts.numRuns),
    );
  }

  it('cart.get', async () => {
    await breakProperty({
      base: () => ({ cartId: cartA }),
      fields: [{ path: ['cartId'], spec: FIELDS.capability }],
      objects: [{ path: [], keys: ['cartId'] }],
      ascii: true,
      call: (input) => api().cart.get.query(input as never),
      numRuns: 80,
    });
  });

  const lineFields: FieldSpec[] = [
    { path: ['cartId'], spec: FIELDS.capability },
    { path: ['sku'], spec: FIELDS.sku },
    { path: ['qty'], spec: FIELDS.qty },
  ];

  it('cart.addLine', async () => {
    await breakProperty({
      base: () => ({ cartId: cartA, sku: P1, qty: 1 }),
      fields: lineFields,
      objects: [{ path: [], keys: ['cartId', 'sku', 'qty'] }],
      ascii: false,
      call: (input) => api().cart.addLine.mutate(input as never),
      numRuns: 120,
    });
  });

  it('cart.updateLine', async () => {
    await breakProperty({
      base: () => ({ cartId: cartA, sku: P1, qty: 7 }),
      fields: lineFields,
      objects: [{ path: [], keys: ['cartId', 'sku', 'qty'] }],
      ascii: false,
      call: (input) => api().cart.updateLine.mutate(input as never),
      numRuns: 100,
    });
  });

  it('cart.removeLine', async () => {
    await breakProperty({
      base: () => ({ cartId: cartA, sku: P1 }),
      fields: lineFields.slice(0, 2),
      objects: [{ path: [], keys: ['cartId', 'sku'] }],
      ascii: false,
      call: (input) => api().cart.removeLine.mutate(input as never),
      numRuns: 80,
    });
  });

  const ownerFields: FieldSpec[] = [
    { path: ['orderId'], spec: FIELDS.orderId },
    { path: ['accessToken'], spec: FIELDS.capability },
  ];

  it('orders.get', async () => {
    await breakProperty({
      base: () => ({ ...order }),
      fields: ownerFields,
      objects: [{ path: [], keys: ['orderId', 'accessToken'] }],
      ascii: true,
      call: (input) => api().orders.get.query(input as never),
      numRuns: 80,
    });
  });

  it('orders.cancel (the order stays PAYMENT_PENDING)', async () => {
    await breakProperty({
      base: () => ({ ...order }),
      fields: ownerFields,
      objects: [{ path: [], keys: ['orderId', 'accessToken'] }],
      ascii: false,
      call: (input) => api().orders.cancel.mutate(input as never),
      numRuns: 80,
    });
  });

  it('orders.get / orders.cancel with a well-formed but wrong id or token: 404 naming orderId, nothing changes', async () => {
    const hex24 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 }).map((h) => `ord_${h}`);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('get', 'cancel'), fc.option(hex24), fc.option(validCapability), async (proc, orderId, token) => {
        fc.pre(orderId !== null || token !== null);
        const input = { orderId: orderId ?? order.orderId, accessToken: token ?? order.accessToken };
        fc.pre(input.orderId !== order.orderId || input.accessToken !== order.accessToken);
        const label = `orders.${proc} ${show(input)}`;
        const before = await world();
        const o = await outcome(proc === 'get' ? api().orders.get.query(input) : api().orders.cancel.mutate(input));
        expect(o.ok, label).toBe(false);
        expect(o.status, `${label}: ${o.message}`).toBe(404);
        expect(o.data?.field, label).toBe('orderId');
        await expectUnchanged(before, label);
      }),
      runs(60),
    );
  });

  type KeyPlace = 'header' | 'input' | 'both';
  type OrderBreak = Break | { kind: 'header'; value: string } | { kind: 'keys-differ' } | { kind: 'no-key' };

  it('checkout.placeOrder: no order, no stock moved, the field named', async () => {
    const fields: FieldSpec[] = [
      { path: ['cartId'], spec: FIELDS.capability },
      { path: ['customer'], spec: FIELDS.object },
      { path: ['customer', 'name'], spec: FIELDS.text(120) },
      { path: ['customer', 'email'], spec: FIELDS.email },
      { path: ['customer', 'address'], spec: FIELDS.object },
      { path: ['customer', 'address', 'line1'], spec: FIELDS.text(200) },
      { path: ['customer', 'address', 'line2'], spec: FIELDS.optText(200) },
      { path: ['customer', 'address', 'city'], spec: FIELDS.text(100) },
      { path: ['customer', 'address', 'state'], spec: FIELDS.text(100) },
      { path: ['customer', 'address', 'postalCode'], spec: FIELDS.postalCode },
      { path: ['customer', 'address', 'country'], spec: FIELDS.country },
      { path: ['idempotencyKey'], spec: FIELDS.idempotencyKey },
    ];
    const objects: ObjectSpec[] = [
      { path: [], keys: ['cartId', 'customer', 'idempotencyKey'] },
      { path: ['customer'], keys: CUSTOMER_KEYS },
      { path: ['customer', 'address'], keys: ADDRESS_KEYS },
    ];
    const badHeader = fc
      .oneof(
        fc.string({ unit: fc.constantFrom(...keyChars), maxLength: 7 }),
        fc.integer({ min: 256, max: 8000 }).map((n) => 'h'.repeat(n)),
        spliced(fc.string({ unit: fc.constantFrom(...keyChars), minLength: 8, maxLength: 40 }), fc.constantFrom(' ', '/', '+', '=', '!', '"', '#', '%', ',', ';', '~', 'é', '\t')),
      )
      .filter((h) => !ok.idempotencyKey(headerWire(h)));
    const orderBreak: fc.Arbitrary<OrderBreak> = fc.oneof(
      { weight: 8, arbitrary: breaks(fields, objects, false) },
      { weight: 2, arbitrary: badHeader.map((value): OrderBreak => ({ kind: 'header', value })) },
      { weight: 1, arbitrary: fc.constantFrom<OrderBreak>({ kind: 'keys-differ' }, { kind: 'no-key' }) },
    );
    await fc.assert(
      fc.asyncProperty(orderBreak, fc.constantFrom<KeyPlace>('header', 'input', 'both'), async (b, place) => {
        const key = newKey();
        let headerKey: string | null = place === 'input' ? null : key;
        let input: Record<string, unknown> = { cartId: cartA, customer: structuredClone(customer), ...(place === 'header' ? {} : { idempotencyKey: key }) };
        let named: Break;
        if (b.kind === 'header') {
          headerKey = b.value;
          delete input.idempotencyKey;
          named = { kind: 'field', path: ['idempotencyKey'], value: b.value };
        } else if (b.kind === 'keys-differ') {
          headerKey = key;
          input.idempotencyKey = newKey();
          named = { kind: 'field', path: ['idempotencyKey'], value: input.idempotencyKey };
        } else if (b.kind === 'no-key') {
          headerKey = null;
          delete input.idempotencyKey;
          named = { kind: 'field', path: ['idempotencyKey'], value: undefined };
        } else {
          input = applyBreak(input, b);
          named = b;
        }
        const label = `${b.kind === 'field' || b.kind === 'extra' ? describeBreak(b) : `${b.kind} ${show(b.kind === 'header' ? b.value : '', 80)}`} [key in ${place}] (input ${show(input, 300)})`;
        const before = await world();
        const o = await outcome(client(headerKey === null ? {} : { 'Idempotency-Key': headerKey }).checkout.placeOrder.mutate(input as never));
        expectNamesField(o, named, label);
        if (b.kind === 'no-key') expect(o.data?.domainCode, label).toBe('IDEMPOTENCY_KEY_REQUIRED');
        await expectUnchanged(before, label);
      }),
      runs(150),
    );
  });
});

// ---------------------------------------------------------------------------
// 3. The bounds the schemas promise
// ---------------------------------------------------------------------------

/** A well-formed address of exactly n characters (64-char local part, domain labels ≤ 63). */
function emailOfLength(n: number): string {
  const local = 'l'.repeat(64);
  let rest = n - local.length - 1 - '.com'.length;
  const labels: string[] = [];
  while (rest > 0) {
    let len = Math.min(63, rest);
    if (rest - len === 1) len -= 1; // never leave room for an empty label
    labels.push('d'.repeat(len));
    rest -= len;
    if (rest > 0) rest -= 1; // the dot
  }
  return `${local}@${labels.join('.')}.com`;
}

describe('hostile input: promised bounds', () => {
  it('quantity: addLine and updateLine accept exactly the whole numbers 1..100', async () => {
    const cartId = (await api().cart.create.mutate()).cartId;
    watchedCarts.add(cartId);
    await api().cart.addLine.mutate({ cartId, sku: P2, qty: 5 });
    const qty = fc.oneof(fc.integer({ min: -3, max: 104 }), badNumber, notANumber);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('addLine', 'updateLine'), qty, async (proc, q) => {
        const label = `${proc} qty=${show(q)}`;
        // The starting cart: one line of P2 x5, no PQ line.
        await api().cart.removeLine.mutate({ cartId, sku: PQ });
        await api().cart.updateLine.mutate({ cartId, sku: P2, qty: 5 });
        const before = await world();
        const input = { cartId, sku: proc === 'addLine' ? PQ : P2, qty: q } as never;
        const o = await outcome(proc === 'addLine' ? api().cart.addLine.mutate(input) : api().cart.updateLine.mutate(input));
        if (ok.qty(wire(q))) {
          expect(o.ok, `${label}: ${o.message}`).toBe(true);
          const lines = (await Cart.findById(cartId).lean())!.lines;
          expect(lines.find((l) => l.sku === (proc === 'addLine' ? PQ : P2))?.qty, label).toBe(q);
        } else {
          expectNamesField(o, { kind: 'field', path: ['qty'], value: q }, label);
          await expectUnchanged(before, label);
        }
      }),
      runs(120),
    );
  });

  it('quantity: adding to a line never takes it past 100', async () => {
    const cartId = (await api().cart.create.mutate()).cartId;
    watchedCarts.add(cartId);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), async (a, b) => {
        const label = `add ${a} then ${b} of the same SKU`;
        await api().cart.removeLine.mutate({ cartId, sku: PQ });
        const first = await outcome(api().cart.addLine.mutate({ cartId, sku: PQ, qty: a }));
        expect(first.ok, `${label}: the first add failed: HTTP ${first.status} ${first.message}`).toBe(true);
        const before = await world();
        const o = await outcome(api().cart.addLine.mutate({ cartId, sku: PQ, qty: b }));
        expect(o.status, `${label}: HTTP ${o.status} ${o.message}`).toBeLessThan(500);
        if (a + b <= 100) {
          expect(o.ok, `${label}: ${o.message}`).toBe(true);
          expect((await Cart.findById(cartId).lean())!.lines, label).toEqual([{ sku: PQ, qty: a + b }]);
        } else {
          expect(o.status, `${label}: ${o.message}`).toBe(422);
          expect(o.data?.domainCode, label).toBe('LIMIT_EXCEEDED');
          expect(o.data?.field, label).toBe('qty');
          await expectUnchanged(before, label);
        }
      }),
      runs(60),
    );
  });

  it('lines: a cart holds at most 50, sequentially and under concurrent adds', async () => {
    const skus = await Promise.all(Array.from({ length: 56 }, () => seedProduct(10)));
    const full = await cartWith(skus.slice(0, 50).map((sku) => ({ sku, qty: 1 })));
    watchedCarts.add(full);
    const extra = fc.oneof(fc.constantFrom(...skus.slice(50)), validSku.filter((s) => !skus.includes(s)));
    await fc.assert(
      fc.asyncProperty(extra, fc.integer({ min: 1, max: 100 }), async (sku, qty) => {
        const label = `51st line ${sku} x${qty}`;
        const before = await world();
        const o = await outcome(api().cart.addLine.mutate({ cartId: full, sku, qty }));
        expect(o.ok, label).toBe(false);
        expect(o.status, `${label}: ${o.message}`).toBe(422);
        expect(['LIMIT_EXCEEDED', 'UNKNOWN_SKU'], label).toContain(o.data?.domainCode);
        expect(o.data?.field, label).toBe('sku');
        await expectUnchanged(before, label);
      }),
      runs(40),
    );
    expect((await Cart.findById(full).lean())!.lines).toHaveLength(50);

    // 48 lines, then 6 different SKUs added at once: exactly 2 get in.
    const racing = await cartWith(skus.slice(0, 48).map((sku) => ({ sku, qty: 1 })));
    const results = await Promise.all(skus.slice(48, 54).map((sku) => outcome(api().cart.addLine.mutate({ cartId: racing, sku, qty: 1 }))));
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    for (const r of results.filter((x) => !x.ok)) expect(r.data?.domainCode).toBe('LIMIT_EXCEEDED');
    expect((await Cart.findById(racing).lean())!.lines).toHaveLength(50);
  });

  it('SKU format ^[A-Z0-9][A-Z0-9-]*$, 2..64: malformed → 400 naming sku, well-formed unknown → 422 UNKNOWN_SKU', async () => {
    const sku = fc.oneof(
      fc.string({ unit: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...AZ09, '-') }, { weight: 1, arbitrary: fc.constantFrom(...'az_ .') }, { weight: 1, arbitrary: weirdChar }), maxLength: 70 }),
      fc.tuple(blank, validSku, blank).map(([a, s, b]) => a + s + b),
      fc.integer({ min: 60, max: 70 }).map((n) => 'A'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(sku, fc.constantFrom('addLine', 'removeLine'), async (s, proc) => {
        const label = `${proc} sku=${show(s)}`;
        const before = await world();
        const o = await outcome(
          proc === 'addLine' ? api().cart.addLine.mutate({ cartId: cartA, sku: s, qty: 1 }) : api().cart.removeLine.mutate({ cartId: cartA, sku: s }),
        );
        if (ok.sku(s)) {
          if (proc === 'addLine') {
            expect(o.status, `${label}: ${o.message}`).toBe(422);
            expect(o.data?.domainCode, label).toBe('UNKNOWN_SKU');
            expect(o.data?.field, label).toBe('sku');
            await expectUnchanged(before, label);
          } else {
            // Removing a line the cart does not have is a no-op success.
            expect(o.ok, `${label}: ${o.message}`).toBe(true);
          }
        } else {
          expectNamesField(o, { kind: 'field', path: ['sku'], value: s }, label);
          await expectUnchanged(before, label);
        }
      }),
      runs(120),
    );
  });

  it('capabilities: cart ids and access tokens are 20..64 base64url chars, order ids ord_<24 hex>', async () => {
    const near = (valid: fc.Arbitrary<string>) =>
      fc.oneof(valid, fc.string({ unit: fc.constantFrom(...b64url), minLength: 17, maxLength: 23 }), fc.string({ unit: fc.constantFrom(...b64url), minLength: 62, maxLength: 67 }), spliced(valid, fc.constantFrom(...'!$%&()*+,./:;<=>?@[]^`{|}~ .')));
    const oid = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 22, maxLength: 26 }).map((h) => `ord_${h}`),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefG'), minLength: 24, maxLength: 24 }).map((h) => `ord_${h}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('cart.get', 'orders.get'), near(validCapability), oid, async (proc, cap, orderId) => {
        const label = `${proc} cap=${show(cap)} orderId=${show(orderId)}`;
        const before = await world();
        if (proc === 'cart.get') {
          const o = await outcome(api().cart.get.query({ cartId: cap }));
          if (ok.capability(cap)) {
            expect(o.status, `${label}: ${o.message}`).toBe(404);
            expect(o.data?.field, label).toBe('cartId');
          } else expectNamesField(o, { kind: 'field', path: ['cartId'], value: cap }, label);
        } else {
          const o = await outcome(api().orders.get.query({ orderId, accessToken: cap }));
          if (ok.capability(cap) && ok.orderId(orderId)) {
            expect(o.status, `${label}: ${o.message}`).toBe(404);
            expect(o.data?.field, label).toBe('orderId');
          } else {
            expect(o.status, `${label}: ${o.message}`).toBe(400);
            const field = o.data?.field ?? '';
            expect(ok.orderId(orderId) ? field === 'accessToken' : field === 'orderId' || field === 'accessToken', `${label}: field=${field}`).toBe(true);
          }
        }
        await expectUnchanged(before, label);
      }),
      runs(80),
    );
  });

  /** placeOrder on an empty cart: valid in every field → 422 EMPTY_CART; one field invalid → 400 naming it. Never an order. */
  async function placeOnEmptyCart(input: Record<string, unknown>, header: string | null) {
    return outcome(client(header === null ? {} : { 'Idempotency-Key': header }).checkout.placeOrder.mutate(input as never));
  }
  function expectEmptyCartOrNamed(o: Outcome, valid: boolean, path: Path, value: unknown, label: string) {
    if (valid) {
      expect(o.status, `${label}: ${o.message} field=${o.data?.field}`).toBe(422);
      expect(o.data?.domainCode, label).toBe('EMPTY_CART');
    } else {
      expectNamesField(o, { kind: 'field', path, value }, label);
    }
  }

  it('customer text fields: lengths (name ≤120, line1 ≤200, line2 ≤200 optional, city/state ≤100), postal code, country', async () => {
    const specs = [
      { path: ['customer', 'name'], max: 120, valid: ok.text(120) },
      { path: ['customer', 'address', 'line1'], max: 200, valid: ok.text(200) },
      { path: ['customer', 'address', 'line2'], max: 200, valid: ok.optText(200) },
      { path: ['customer', 'address', 'city'], max: 100, valid: ok.text(100) },
      { path: ['customer', 'address', 'state'], max: 100, valid: ok.text(100) },
      { path: ['customer', 'address', 'postalCode'], max: 12, valid: ok.postalCode },
      { path: ['customer', 'address', 'country'], max: 2, valid: ok.country },
    ] as const;
    const unit = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...'ABCXYZabcxyz0189') },
      { weight: 2, arbitrary: fc.constantFrom(' ', '-') },
      { weight: 1, arbitrary: weirdChar },
    );
    const value = (max: number) =>
      fc
        .tuple(
          blank,
          fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: Math.max(0, max - 2), max: max + 2 }), fc.integer({ min: 0, max: max + 5 })),
          blank,
          fc.infiniteStream(unit),
        )
        .map(([pre, n, post, chars]) => pre + [...chars.take(n)].join('') + post);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...specs).chain((s) => value(s.max).map((v) => [s, v] as const)), async ([s, v]) => {
        const input = applyBreak({ cartId: emptyCart, customer: structuredClone(customer) }, { kind: 'field', path: s.path, value: v });
        const label = `${s.path.join('.')} = ${show(v)}`;
        const before = await world();
        expectEmptyCartOrNamed(await placeOnEmptyCart(input, newKey()), s.valid(v), s.path, v, label);
        await expectUnchanged(before, label);
      }),
      runs(120),
    );
  });

  it('email: the documented format and at most 254 characters', async () => {
    const label63 = (min = 1) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: min, maxLength: 63 });
    const simple = fc
      .tuple(label63(), fc.option(fc.tuple(fc.constantFrom('.', '+', '_', '-'), label63())), label63(), fc.constantFrom('com', 'in', 'org', 'co', 'io', 'example'))
      .map(([local, more, domain, tld]) => `${local}${more ? more[0] + more[1] : ''}@${domain}.${tld}`);
    // Around the 254 limit: a 64-char local part, labels of at most 63.
    const long = fc.integer({ min: 240, max: 270 }).map(emailOfLength);
    const broken = FIELDS.email.bad({ ascii: false }).filter(isStr);
    await fc.assert(
      fc.asyncProperty(fc.oneof(simple, long, broken), async (email) => {
        const input = { cartId: emptyCart, customer: { ...customer, email } };
        const label = `email ${show(email)} (${email.length} chars)`;
        const before = await world();
        expectEmptyCartOrNamed(await placeOnEmptyCart(input, newKey()), ok.email(email), ['customer', 'email'], email, label);
        await expectUnchanged(before, label);
      }),
      runs(100),
    );
  });

  it('Idempotency-Key: 8..255 chars of [A-Za-z0-9_.:-], in the header or the input', async () => {
    const unit = fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...keyChars) },
      { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '/', '+', '=', '!', '"', '#', '%', ',', ';', '~', '@', '(', 'é', 'ÿ') },
    );
    const key = fc
      .tuple(fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 250, max: 260 }), fc.integer({ min: 0, max: 300 })), fc.infiniteStream(unit))
      .map(([n, chars]) => [...chars.take(n)].join(''));
    await fc.assert(
      fc.asyncProperty(key, fc.constantFrom('header', 'input'), async (k, place) => {
        const label = `Idempotency-Key in ${place}: ${show(k)} (${k.length} chars)`;
        const before = await world();
        const o =
          place === 'header'
            ? await placeOnEmptyCart({ cartId: emptyCart, customer }, k)
            : await placeOnEmptyCart({ cartId: emptyCart, customer, idempotencyKey: k }, null);
        const valid = ok.idempotencyKey(place === 'header' ? headerWire(k) : k);
        expectEmptyCartOrNamed(o, valid, ['idempotencyKey'], k, label);
        await expectUnchanged(before, label);
      }),
      runs(120),
    );
  });
});

// ---------------------------------------------------------------------------
// 4. The webhook route
// ---------------------------------------------------------------------------

interface WebhookAnswer {
  received?: boolean;
  outcome?: string;
  error?: string;
}

const HANDLED = ['payment_intent.succeeded', 'payment_intent.payment_failed'] as const;

/** A plausible event aimed at the real order: forging one must not move it. */
const eventFor = () =>
  fc
    .record({
      id: fc.string({ unit: fc.constantFrom(...b64url), minLength: 8, maxLength: 24 }).map((s) => `evt_${s}`),
      type: fc.constantFrom(...HANDLED, 'charge.refunded', 'customer.created'),
      amount: fc.integer({ min: 0, max: 10_000_000 }),
      currency: fc.constantFrom('inr', 'usd'),
    })
    .map(({ id, type, amount, currency }) =>
      JSON.stringify({
        id,
        object: 'event',
        type,
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        data: { object: { id: `pi_${id}`, object: 'payment_intent', amount, amount_received: amount, currency, status: 'succeeded', metadata: { orderId: order.orderId } } },
      }),
    );

type Sig =
  | { kind: 'missing' | 'empty' | 'v0-scheme' | 'other-body' | 'secret-with-space' }
  | { kind: 'garbage'; value: string }
  | { kind: 'random-v1'; t: number; hex: string }
  | { kind: 'wrong-secret'; secret: string }
  | { kind: 'stale'; age: number };

const badSignature: fc.Arbitrary<Sig> = fc.oneof(
  fc.constantFrom<Sig>({ kind: 'missing' }, { kind: 'empty' }, { kind: 'v0-scheme' }, { kind: 'other-body' }, { kind: 'secret-with-space' }),
  headerValue.map((value): Sig => ({ kind: 'garbage', value })),
  fc
    .tuple(fc.integer({ min: Math.floor(Date.now() / 1000) - 200, max: Math.floor(Date.now() / 1000) + 200 }), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }))
    .map(([t, hex]): Sig => ({ kind: 'random-v1', t, hex })),
  fc.string({ minLength: 1, maxLength: 40 }).map((s): Sig => ({ kind: 'wrong-secret', secret: `whsec_${s}` })),
  fc.integer({ min: 400, max: 100_000_000 }).map((age): Sig => ({ kind: 'stale', age })),
);

function signatureFor(sig: Sig, body: string): string | null {
  switch (sig.kind) {
    case 'missing':
      return null;
    case 'empty':
      return '';
    case 'garbage':
      return sig.value;
    case 'random-v1':
      return `t=${sig.t},v1=${sig.hex}`;
    case 'wrong-secret':
      return sign(body, { secret: sig.secret === secret() ? `${sig.secret}x` : sig.secret });
    case 'secret-with-space':
      return sign(body, { secret: `${secret()} ` });
    case 'stale':
      return sign(body, { timestamp: Math.floor(Date.now() / 1000) - sig.age });
    case 'v0-scheme':
      return sign(body, { scheme: 'v0' });
    case 'other-body':
      return sign(`${body} `);
  }
}

/** A connection closed under an upload (ECONNRESET, EPIPE, undici's socket error). */
function isConnectionReset(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(cause?.code ?? '');
}

/** POSTs `data` on a connection of its own (chunked: no Content-Length, 64 KiB writes); null when the server reset it. */
function uploadOnce(url: string, data: Buffer, chunked: boolean, signature: string | null): Promise<Answer | null> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== null) headers['stripe-signature'] = signature;
  if (!chunked) headers['content-length'] = String(data.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => (isConnectionReset({ cause: err }) ? resolve(null) : reject(err)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text) as unknown;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json, envelopes: null });
      });
    });
    req.on('error', (err) => (isConnectionReset({ cause: err }) ? resolve(null) : reject(err)));
    for (let i = 0; i < data.length; i += 64 * 1024) req.write(data.subarray(i, i + 64 * 1024));
    req.end();
  });
}

/** Sends only the headers of a POST declaring `length` bytes and returns the status the server answers with. */
function declaredOnly(url: string, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

async function postWebhook(body: BodyInit, signature: string | null, ct: string | null = 'application/json') {
  const headers: Record<string, string> = {};
  if (ct !== null) headers['content-type'] = ct;
  if (signature !== null) headers['stripe-signature'] = signature;
  return send('POST', webhookUrl(), { body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body, headers });
}

function expectWebhookRefused(a: Answer, label: string, status?: number): void {
  expect(a.status, `${label}: HTTP ${a.status} ${a.text.slice(0, 200)}`).toBeLessThan(500);
  expect(a.status, `${label}: HTTP ${a.status} ${a.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  if (status !== undefined) expect(a.status, `${label}: ${a.text.slice(0, 200)}`).toBe(status);
  if (a.json !== undefined) expect((a.json as WebhookAnswer).received, label).toBe(false);
}

describe('hostile input: /api/webhooks/stripe', () => {
  it('refuses random bodies with missing, garbage, forged, stale or misplaced signatures: 400, nothing stored', async () => {
    const body = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.json({ maxDepth: 3 }), eventFor(), eventFor(), hostileJsonText);
    await fc.assert(
      fc.asyncProperty(body, badSignature, contentType, async (b, sig, ct) => {
        const signature = signatureFor(sig, b);
        const label = `sig ${sig.kind} ${show(signature, 80)} ct=${show(ct)} body=${show(b, 160)}`;
        const before = await world();
        const a = await postWebhook(b, signature, ct);
        // Node answers 400 itself for control characters in a header; otherwise the route's 400.
        expectWebhookRefused(a, label, 400);
        await expectUnchanged(before, label);
      }),
      runs(150),
    );
  });

  it('refuses bodies over 512 KiB, signed or not, declared or chunked: 413 (read only up to the limit), nothing stored', async () => {
    const LIMIT = 512 * 1024;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: LIMIT + 1, max: 3 * LIMIT }),
        fc.constantFrom('x', '€', '😀'),
        fc.constantFrom('valid', 'missing', 'garbage'),
        fc.boolean(),
        async (bytes, pad, sigKind, chunked) => {
          const skeleton = JSON.stringify({ id: `evt_big_${bytes}`, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_big', metadata: { orderId: order.orderId } } }, pad: '' });
          const padBytes = Buffer.byteLength(pad);
          const room = bytes - Buffer.byteLength(skeleton);
          const body = skeleton.replace('"pad":""', `"pad":"${pad.repeat(Math.ceil(room / padBytes))}"`);
          expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT);
          const signature = sigKind === 'valid' ? sign(body) : sigKind === 'garbage' ? 't=1,v1=00' : null;
          const label = `${Buffer.byteLength(body)} bytes (${body.length} chars of ${show(pad)}) sig=${sigKind} chunked=${chunked}`;
          const before = await world();
          const data = Buffer.from(body, 'utf8');
          // The route answers 413 as soon as the limit is passed and stops
          // reading; the server may then close the connection while the client
          // is still uploading, and the client sees the reset before the 413.
          // Either way nothing was read past the limit, nor stored. A
          // connection of its own for each, so no reset one is reused later.
          const a = await uploadOnce(webhookUrl(), data, chunked, signature);
          if (a !== null) expectWebhookRefused(a, label, 413);
          await expectUnchanged(before, label);
        },
      ),
      runs(16),
    );
    // Deterministically: a declared length over the limit is answered 413 before any of the body is sent.
    expect(await declaredOnly(webhookUrl(), LIMIT + 1)).toBe(413);
  });

  it('refuses a valid signature over a body that is not JSON: 400, nothing stored', async () => {
    const notJson = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), fc.json().map((j) => `${j}}`), fc.constantFrom('{', 'NaN', "{'a':1}", '{"id":"evt_1",}', 'undefined', '\u0000')).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(notJson, contentType, async (b, ct) => {
        const label = `signed non-JSON ${show(b, 160)} ct=${show(ct)}`;
        const before = await world();
        expectWebhookRefused(await postWebhook(b, sign(b), ct), label, 400);
        await expectUnchanged(before, label);
      }),
      runs(60),
    );
  });

  /**
   * A valid signature over JSON that is not a Stripe event: it may be ignored
   * (2xx) or refused (4xx), never a 5xx (Stripe would redeliver forever), and
   * it is never stored as an event.
   */
  async function signedNonEvent(value: unknown, label: string) {
    const body = JSON.stringify(value);
    const before = await world();
    const a = await postWebhook(body, sign(body));
    const detail = `${label} ${show(body, 200)}: HTTP ${a.status} ${a.text.slice(0, 200)}`;
    expect(a.status, detail).toBeLessThan(500);
    if (a.status < 300) expect((a.json as WebhookAnswer).outcome, detail).toBe('ignored');
    await expectUnchanged(before, detail);
  }

  it('signed JSON that is not an object (null, numbers, strings, arrays): never 5xx, nothing stored', async () => {
    const scalar = fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }).filter((v) => !ok.object(v)));
    await fc.assert(
      fc.asyncProperty(scalar, (v) => signedNonEvent(v, 'signed non-object')),
      runs(40),
    );
  });

  it('signed objects of a handled type without a usable data.object: never 5xx, nothing stored', async () => {
    const data = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 1 }).filter((v) => !ok.object(v)),
      fc.record({ object: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 1 }).filter((v) => !ok.object(v))) }),
    );
    const value = fc
      .tuple(fc.option(fc.string({ unit: fc.constantFrom(...b64url), minLength: 1, maxLength: 12 }).map((s) => `evt_${s}`)), fc.constantFrom(...HANDLED), data)
      .map(([id, type, d]) => ({ ...(id === null ? {} : { id }), object: 'event', type, ...(d === undefined ? {} : { data: d }) }));
    await fc.assert(
      fc.asyncProperty(value, (v) => signedNonEvent(v, 'signed event without data.object')),
      runs(40),
    );
  });

  it('signed objects of a handled type whose id is missing or not a string: never 5xx, nothing stored', async () => {
    const id = fc.oneof(fc.constant(undefined), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
    const value = fc
      .tuple(id, fc.constantFrom(...HANDLED))
      .map(([i, type]) => ({ ...(i === undefined ? {} : { id: i }), object: 'event', type, data: { object: { id: 'pi_x', object: 'payment_intent', metadata: {} } } }));
    await fc.assert(
      fc.asyncProperty(value, (v) => signedNonEvent(v, 'signed event without a string id')),
      runs(40),
    );
  });

  it('signed objects without a handled type: acknowledged as ignored or refused, nothing stored', async () => {
    const value = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).filter((o) => !HANDLED.includes(o.type as (typeof HANDLED)[number])),
      fc.record({ id: fc.string(), type: fc.oneof(fc.string(), fc.integer(), fc.constant(null)).filter((t) => !HANDLED.includes(t as (typeof HANDLED)[number])), data: fc.jsonValue({ maxDepth: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(value, (v) => signedNonEvent(v, 'signed object of an unhandled type')),
      runs(50),
    );
  });
});

// ---------------------------------------------------------------------------
// 5. Valid input that looks hostile is accepted, stored as sent (trimmed)
// ---------------------------------------------------------------------------

describe('hostile-looking but valid input', () => {
  it('places orders for customers with control characters, emoji, lone surrogates and maximal lengths', async () => {
    const PX = await seedProduct(10_000, 1);
    const unit = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...'AZaz09 ') }, { weight: 2, arbitrary: weirdChar }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) });
    const text = (max: number) =>
      fc
        .tuple(blank, fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(max)), fc.infiniteStream(unit), blank)
        .map(([pre, n, chars, post]) => `${pre}A${[...chars.take(n - 2)].join('')}${n > 1 ? 'Z' : ''}${post}`)
        .filter(ok.text(max));
    const validCustomer = fc.record({
      name: text(120),
      email: fc.constantFrom('asha@example.com', "o'brien+tag@mail.example.in", 'x_y-z@a-b.co'),
      address: fc.record(
        {
          line1: text(200),
          line2: fc.oneof(fc.constant(''), text(200)),
          city: text(100),
          state: text(100),
          postalCode: fc.tuple(blank, fc.constantFrom('560001', 'SW1A 1AA', '90210-1234', 'A-1 2'), blank).map((p) => p.join('')),
          country: fc.tuple(blank, fc.constantFrom('IN', 'in', 'gB', 'Us'), blank).map((p) => p.join('')),
        },
        { requiredKeys: ['line1', 'city', 'state', 'postalCode', 'country'] },
      ),
    });
    const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
    const placed: string[] = [];
    await fc.assert(
      fc.asyncProperty(validCustomer, fc.integer({ min: 1, max: 3 }), async (c, qty) => {
        const label = `customer ${show(c, 400)}`;
        const cartId = await cartWith([{ sku: PX, qty }]);
        const key = newKey();
        const first = await outcome(api(key).checkout.placeOrder.mutate({ cartId, customer: c }));
        expect(first.ok, `${label}: HTTP ${first.status} field=${first.data?.field} ${first.message}`).toBe(true);
        const { orderId, accessToken, replayed } = first.value as { orderId: string; accessToken: string; replayed: boolean };
        expect(replayed, label).toBe(false);
        placed.push(orderId);
        // The same request again is the same order, whatever the content.
        const again = await outcome(api(key).checkout.placeOrder.mutate({ cartId, customer: c }));
        expect(again.ok, `${label}: replay HTTP ${again.status} ${again.message}`).toBe(true);
        expect(again.value, label).toMatchObject({ orderId, replayed: true });
        // The same key with another request is a conflict that stores nothing.
        const before = await world();
        const other = await outcome(api(key).checkout.placeOrder.mutate({ cartId, customer: { ...c, email: c.email === 'asha@example.com' ? 'ravi@example.com' : 'asha@example.com' } }));
        expect(other.status, `${label}: reused key, other request: HTTP ${other.status} ${other.message}`).toBe(409);
        expect(other.data?.domainCode, label).toBe('IDEMPOTENCY_CONFLICT');
        expect(other.data?.field, label).toBe('idempotencyKey');
        expect({ ...(await world()), stock: [] }, label).toEqual({ ...before, stock: [] });
        const stored = (await Order.findById(orderId).lean())!;
        const { address } = c;
        expect(stored.customer, label).toMatchObject({
          name: wellFormed(c.name.trim()),
          email: c.email,
          address: {
            line1: wellFormed(address.line1.trim()),
            city: wellFormed(address.city.trim()),
            state: wellFormed(address.state.trim()),
            postalCode: address.postalCode.trim(),
            country: address.country.trim().toUpperCase(),
          },
        });
        const view = await outcome(api().orders.get.query({ orderId, accessToken }));
        expect(view.ok, `${label}: orders.get HTTP ${view.status} ${view.message}`).toBe(true);
      }),
      runs(15),
    );
    // Leave nothing moving behind: every order reserved (or refused) before the file ends.
    for (const id of placed) await waitForState(id, ['PAYMENT_PENDING', 'REJECTED']);
  });
});
