/**
 * tRPC glue, in the order a request meets it:
 *   1. context: the request headers and the process runtime; over HTTP, a
 *      body over TRPC_MAX_BODY_BYTES (413) or a request whose input cannot be
 *      parsed (400) is refused here, before any
 *      procedure runs;
 *   2. error formatter: the field and the domain code a client needs;
 *   3. procedures: the one builder the routers use, which turns domain errors
 *      into tRPC errors in this single place.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import { z, ZodError } from 'zod';
import { getConfig } from '../config';
import { isDomainError, type DomainErrorCode } from '../errors';
import { readBoundedBody } from '../http/bounded-body';
import { logger } from '../logger';
import { getRuntime, type Runtime } from '../runtime';

// 1. Context ---------------------------------------------------------------
export interface Context {
  headers: Headers;
  runtime: () => Promise<Runtime>;
}

export function createContext(opts: { headers: Headers; runtime?: () => Promise<Runtime> }): Context {
  return { headers: opts.headers, runtime: opts.runtime ?? getRuntime };
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
  return createContext({ headers: req.headers });
}

async function refuseUnparseableInput(req: Request, maxBodyBytes: number): Promise<void> {
  if (req.method === 'GET') {
    // Empty `input=` means no input, as tRPC reads it.
    const input = new URL(req.url).searchParams.get('input');
    const problem = input ? jsonProblem(input) : null;
    if (problem) throw new TRPCError({ code: 'BAD_REQUEST', message: `The "input" query parameter is not valid JSON: ${problem}` });
    return;
  }
  // A clone, so tRPC can still read the body itself; read at most the limit,
  // however the body is sent. No body is how the client calls a procedure without input.
  const read = await readBoundedBody(req.clone(), maxBodyBytes);
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
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/** What the domain-error middleware attaches to a TRPCError for the formatter. */
class DomainCause extends Error {
  constructor(
    message: string,
    readonly domainCode: DomainErrorCode,
    readonly field: string | null,
  ) {
    super(message);
  }
}

function isUnavailable(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return /Mongo(ServerSelection|Network|NotConnected|Timeout)Error|MongooseServerSelectionError/.test(name) || /ECONNREFUSED|Connection is closed/.test(String(err));
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const domain = error.cause instanceof DomainCause ? error.cause : null;
    return {
      ...shape,
      message: zodError ? zodError.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') : shape.message,
      data: {
        ...shape.data,
        stack: undefined,
        domainCode: domain?.domainCode ?? null,
        field: domain?.field ?? (zodError?.issues[0]?.path.join('.') || null),
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
    const cause = new DomainCause(err.message, err.code, err.details?.field ?? null);
    throw new TRPCError({ code: codeFor[err.code], message: err.message, cause });
  }
  if (result.error.code === 'INTERNAL_SERVER_ERROR') {
    if (isUnavailable(err)) {
      logger.error({ path, err }, 'dependency unavailable');
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'Temporarily unavailable; retry with the same Idempotency-Key' });
    }
    logger.error({ path, err }, 'unexpected error');
  }
  return result;
});

export const publicProcedure = t.procedure.use(domainErrors);
