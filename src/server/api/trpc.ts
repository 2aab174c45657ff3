/**
 * tRPC glue, in the order a request meets it:
 *   1. context: the request headers and the process runtime;
 *   2. error formatter: the field and the domain code a client needs;
 *   3. procedures: the one builder the routers use, which turns domain errors
 *      into tRPC errors in this single place.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
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
