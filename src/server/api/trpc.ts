/**
 * tRPC glue, in the order a request meets it:
 *   1. context: the request headers and the process runtime; over HTTP, a
 *      request whose input cannot be parsed is refused here, before any
 *      procedure runs;
 *   2. error formatter: the field and the domain code a client needs;
 *   3. procedures: the builder the routers use, which turns domain errors
 *      into tRPC errors in this single place;
 *   4. the operator console's builder: the same, for a signed-in operator only.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { FetchCreateContextFnOptions } from '@trpc/server/adapters/fetch';
import { z, ZodError } from 'zod';
import { getOperatorConsole } from '../admin/operator-console';
import { operatorSession } from '../admin/sign-in';
import { isDomainError, type DomainErrorCode } from '../errors';
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
  await refuseUnparseableInput(req);
  return createContext({ headers: req.headers });
}

async function refuseUnparseableInput(req: Request): Promise<void> {
  if (req.method === 'GET') {
    // Empty `input=` means no input, as tRPC reads it.
    const input = new URL(req.url).searchParams.get('input');
    const problem = input ? jsonProblem(input) : null;
    if (problem) throw new TRPCError({ code: 'BAD_REQUEST', message: `The "input" query parameter is not valid JSON: ${problem}` });
    return;
  }
  // A clone, so tRPC can still read the body itself. No body is how the client
  // calls a procedure without input.
  const body = await req.clone().text();
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
  REFUND_REFUSED: 'CONFLICT',
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
