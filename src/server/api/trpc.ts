/**
 * tRPC glue, in the order a request meets it:
 *   1. context: the request headers, the client's address and the process
 *      runtime; over HTTP, a body over TRPC_MAX_BODY_BYTES (413) or a request
 *      whose input cannot be parsed (400) is refused here, before any
 *      procedure runs;
 *   2. error formatter: the field and the domain code a client needs, and for
 *      an unexpected error only a reference to its log line;
 *   3. procedures: the one builder the routers use, which turns domain errors
 *      into tRPC errors in this single place (and the Retry-After of a 429),
 *      and counts every call, batched ones included, against the rate limits;
 *   4. the operator console's builder: the same, for a signed-in operator only.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import mongoose from 'mongoose';
import { z, ZodError } from 'zod';
import { peerAddressHeader, resolveClientAddress } from '../abuse/client-address';
import { getConfig } from '../config';
import { getOperatorConsole } from '../admin/operator-console';
import { operatorSession } from '../admin/sign-in';
import { isDomainError, type DomainErrorCode } from '../errors';
import { admissionPriority } from '../http/admission';
import { peekBoundedBody } from '../http/bounded-body';
import { logger } from '../logger';
import { reportInternalError } from '../observability/internal-error';
import { getRuntime, type Runtime } from '../runtime';
import { cartIdSchema, customerSchema } from '../validation';

// 1. Context ---------------------------------------------------------------
export interface Context {
  headers: Headers;
  runtime: () => Promise<Runtime>;
  /** Set for calls over HTTP (rate-limited); null for in-process callers. `address` is null when unknown. */
  client: { address: string | null } | null;
}

export function createContext(opts: { headers: Headers; runtime?: () => Promise<Runtime>; client?: Context['client'] }): Context {
  return { headers: opts.headers, runtime: opts.runtime ?? getRuntime, client: opts.client ?? null };
}

/**
 * The context of an HTTP request. tRPC parses a call's input lazily, only when
 * its procedure reads one, so a body it cannot parse sent to a procedure that
 * takes no input (cart.create) went unnoticed and the procedure ran. Checking
 * here refuses such a request whatever procedure it names, before any runs.
 */
export async function createHttpContext({ req }: FetchCreateContextFnOptions): Promise<Context> {
  const config = getConfig();
  await refuseUnparseableInput(req, config.TRPC_MAX_BODY_BYTES);
  return createContext({ headers: req.headers, client: { address: clientAddressOf(req, config.TRUSTED_PROXIES) } });
}

let warnedNoPeer = false;

/** The address rate limits count this request against; see abuse/client-address.ts. */
function clientAddressOf(req: Request, trustedProxies: number): string | null {
  const header = peerAddressHeader();
  if (!header && !warnedNoPeer) {
    warnedNoPeer = true;
    logger.warn('this process does not record peer addresses (src/instrumentation.ts did not run): per-address rate limits are off');
  }
  const peer = header ? req.headers.get(header) : null;
  return resolveClientAddress(peer, req.headers.get('x-forwarded-for'), trustedProxies);
}

async function refuseUnparseableInput(req: Request, maxBodyBytes: number): Promise<void> {
  if (req.method === 'GET') {
    // Empty `input=` means no input, as tRPC reads it.
    const input = new URL(req.url).searchParams.get('input');
    const problem = input ? jsonProblem(input) : null;
    if (problem) throw new TRPCError({ code: 'BAD_REQUEST', message: `The "input" query parameter is not valid JSON: ${problem}` });
    return;
  }
  // Peeked (a clone, or the bytes the server already holds), so tRPC can still
  // read the body itself; at most the limit, however the body is sent. No body
  // is how the client calls a procedure without input.
  const read = await peekBoundedBody(req, maxBodyBytes);
  if (!read.ok) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `Request body is larger than ${maxBodyBytes} bytes` });
  const body = read.text;
  if (body === '') return;
  // tRPC answers 415 for most other media types before the context is built;
  // form data and octet streams would reach procedures, none of which takes them.
  if (req.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase() !== 'application/json') {
    throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request body must be application/json' });
  }
  const problem = jsonProblem(body);
  if (problem) throw new TRPCError({ code: 'BAD_REQUEST', message: `Request body is not valid JSON: ${problem}` });
}

/** Why `text` does not parse as JSON, or null when it does. */
function jsonProblem(text: string): string | null {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'unparseable';
  }
}

// 2. Errors ------------------------------------------------------------------
const codeFor: Record<DomainErrorCode, TRPCError['code']> = {
  VALIDATION: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  EMPTY_CART: 'UNPROCESSABLE_CONTENT',
  UNKNOWN_SKU: 'UNPROCESSABLE_CONTENT',
  IDEMPOTENCY_CONFLICT: 'CONFLICT',
  IDEMPOTENCY_KEY_REQUIRED: 'BAD_REQUEST',
  ILLEGAL_TRANSITION: 'CONFLICT',
  LIMIT_EXCEEDED: 'UNPROCESSABLE_CONTENT',
  CART_ALREADY_ORDERED: 'CONFLICT',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  BUSY: 'SERVICE_UNAVAILABLE',
  REFUND_REFUSED: 'CONFLICT',
};

/** What the domain-error middleware attaches to a TRPCError for the formatter. */
class DomainCause extends Error {
  constructor(
    message: string,
    readonly domainCode: DomainErrorCode,
    readonly field: string | null,
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
  }
}

function retryAfterOf(err: { details?: Record<string, unknown> }): number | null {
  const seconds = err.details?.retryAfterSeconds;
  return typeof seconds === 'number' ? seconds : null;
}

/** Whether an unexpected error is a dependency being away (answered 503, retry with the same key) rather than a bug. */
export function isUnavailable(err: unknown): boolean {
  const { name = '', code = '' } = (err ?? {}) as { name?: string; code?: unknown };
  // A server that stops mid-request (a MongoDB restart) can surface as the socket's own EPIPE / ECONNRESET, not
  // wrapped in a driver error: still an outage to retry with the same key, not an internal error.
  // Every network error of the driver counts, its pool being cleared after a connection dropped
  // (MongoPoolClearedError: every operation queued on that pool fails with it) included.
  return (
    err instanceof mongoose.mongo.MongoNetworkError ||
    /Mongo(ServerSelection|Network|NotConnected|Timeout|PoolCleared)Error|MongooseServerSelectionError/.test(name) ||
    /ECONNREFUSED|Connection is closed/.test(String(err)) ||
    (typeof code === 'string' && /^(EPIPE|ECONNRESET)$/.test(code))
  );
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, path }) {
    // An unexpected error's own message may name internals (hosts, collections,
    // code paths): the client gets "Internal error (ref <request id>)" and the
    // log gets the error under the same id. Every HTTP error passes here, those
    // raised before any procedure ran included.
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    const zodError = !internal && error.cause instanceof ZodError ? error.cause : null;
    const domain = !internal && error.cause instanceof DomainCause ? error.cause : null;
    const validationMessage = zodError?.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    return {
      ...shape,
      message: internal ? reportInternalError(error.cause ?? error, 'trpc', { path }) : (validationMessage ?? shape.message),
      data: {
        ...shape.data,
        stack: undefined,
        domainCode: domain?.domainCode ?? null,
        field: domain?.field ?? (zodError?.issues[0]?.path.join('.') || null),
        retryAfterSeconds: domain?.retryAfterSeconds ?? null,
        zodError: zodError ? z.flattenError(zodError) : null,
      },
    };
  },
});

// 3. Procedures --------------------------------------------------------------
export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

const domainErrors = t.middleware(async ({ next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const err = result.error.cause;
  if (isDomainError(err)) {
    const cause = new DomainCause(err.message, err.code, err.details?.field ?? null, retryAfterOf(err));
    throw new TRPCError({ code: codeFor[err.code], message: err.message, cause });
  }
  // Other unexpected errors are logged (once, with their reference) by the error formatter.
  if (result.error.code === 'INTERNAL_SERVER_ERROR' && isUnavailable(err)) {
    logger.error({ path, err }, 'dependency unavailable');
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'Temporarily unavailable; retry with the same Idempotency-Key' });
  }
  return result;
});

/** A string input field, if the raw input has one of the given shape (the input is validated later, by the procedure). */
function rawField(raw: unknown, path: readonly string[], schema: z.ZodType<string>): string | null {
  let value = raw;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Every call over HTTP counts, each call of a batch on its own; see abuse/rate-limits.ts. */
const rateLimits = t.middleware(async ({ ctx, path, getRawInput, next }) => {
  if (!ctx.client) return next();
  const raw = await getRawInput().catch(() => undefined);
  const { rateLimiter } = await ctx.runtime();
  await rateLimiter.check({
    procedure: path,
    clientAddress: ctx.client.address,
    cartId: rawField(raw, ['cartId'], cartIdSchema),
    email: rawField(raw, ['customer', 'email'], customerSchema.shape.email),
  });
  return next();
});

/**
 * Calls over HTTP take a turn in this process's admission (http/admission.ts)
 * before anything else, the rate limits included: under a spike beyond
 * capacity a call waits or is refused BUSY at once, having done nothing.
 */
const admission = t.middleware(async ({ ctx, path, signal, next }) => {
  const priority = ctx.client ? admissionPriority(path) : null;
  if (priority === null) return next();
  const { admission: gate } = await ctx.runtime();
  return gate.run(priority, () => next(), signal);
});

export const publicProcedure = t.procedure.use(domainErrors).use(admission).use(rateLimits);

/**
 * Response headers of an HTTP answer (fetchRequestHandler's responseMeta):
 * a refusal for too many calls says when to come back.
 */
export function httpResponseMeta({ errors }: { errors: readonly TRPCError[] }): { headers?: Record<string, string> } {
  const waits = errors.map((e) => (e.cause instanceof DomainCause ? e.cause.retryAfterSeconds : null)).filter((s) => s !== null);
  return waits.length > 0 ? { headers: { 'Retry-After': String(Math.max(...waits)) } } : {};
}

// 4. Operator console ----------------------------------------------------------
/**
 * A signed-in operator only: the session cookie must name a live session
 * (src/server/admin/sessions.ts), or the call is answered 401 before its
 * input is even read. With the console switched off, 404.
 */
export const adminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const operatorConsole = await getOperatorConsole();
  if (!operatorConsole) throw new TRPCError({ code: 'NOT_FOUND', message: 'The operator console is switched off' });
  const session = await operatorSession(ctx.headers.get('cookie'), operatorConsole.credential);
  if (!session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to the operator console first' });
  return next({ ctx: { ...ctx, operator: session } });
});
