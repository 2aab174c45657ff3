/**
 * The request a piece of work belongs to, carried implicitly (AsyncLocalStorage)
 * through everything it awaits: a tRPC call or webhook delivery in the web
 * app, a job in the worker. The logger adds these fields to every line, and
 * the enqueuer copies the request id into the jobs it creates, so one grep of
 * a request id (or an order id) follows an order across processes.
 *
 * Request ids are for correlation only: a client may choose its own
 * (X-Request-Id), so nothing is ever authorised or deduplicated by one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Fields every log line of the work carries; undefined ones are left out. */
export interface WorkContext {
  requestId: string;
  queue?: string;
  jobId?: string;
  orderId?: string;
  eventId?: string;
}

// One store per process even if a bundler evaluates this module twice (Next
// may split route handlers into chunks): the logger and the route handlers
// must see the same one.
const STORE_KEY = Symbol.for('resilient-orders.work-context');
const globals = globalThis as typeof globalThis & { [STORE_KEY]?: AsyncLocalStorage<WorkContext> };
const store = (globals[STORE_KEY] ??= new AsyncLocalStorage<WorkContext>());

export const REQUEST_ID_HEADER = 'x-request-id';

/** A caller's id is used only when it is a plain token: it lands in logs and headers as is. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function newRequestId(): string {
  return randomUUID();
}

/** The caller's X-Request-Id when it is a sane token, else a fresh one. */
export function requestIdFrom(header: string | null | undefined): string {
  const candidate = header?.trim();
  return candidate && SANE_REQUEST_ID.test(candidate) ? candidate : newRequestId();
}

export function runInContext<T>(context: WorkContext, work: () => T): T {
  return store.run(context, work);
}

export function currentContext(): WorkContext | undefined {
  return store.getStore();
}

export function currentRequestId(): string | undefined {
  return store.getStore()?.requestId;
}

/** The context's fields for a log line (pino's mixin). */
export function contextLogFields(): Partial<WorkContext> {
  const context = store.getStore();
  if (!context) return {};
  const fields: Partial<WorkContext> = {};
  for (const [key, value] of Object.entries(context) as [keyof WorkContext, string | undefined][]) {
    if (value !== undefined) fields[key] = value;
  }
  return fields;
}
