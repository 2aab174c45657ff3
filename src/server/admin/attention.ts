/**
 * What needs a human, in one list: orders stuck beyond their threshold (the
 * invariant auditor's own stuck checks, with STUCK_AFTER_MS), webhook events
 * left unprocessed, orders flagged for attention by a step, PAYMENT_MISMATCH
 * orders awaiting a refund decision, and jobs BullMQ gave up on. Each part is
 * bounded (ATTENTION_LIMIT rows, sorted by _id); "more" says it was cut.
 */
import type { Queue } from 'bullmq';
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { WebhookEvent, type WebhookEventDoc } from '../../../prisma-free-models/webhook-event';
import { checkStuckEvent, checkStuckOrder } from '../audit/order-checks';
import type { AuditContext } from '../audit/types';
import type { OrderState } from '../orders/states';

export const ATTENTION_LIMIT = 100;

export interface StuckOrder {
  orderId: string;
  state: OrderState;
  stateChangedAt: string;
  problems: { check: string; message: string }[];
}

export interface FlaggedOrder {
  orderId: string;
  state: OrderState;
  flags: { reason: string; detail: string | null; at: string }[];
}

export interface MismatchedOrder {
  orderId: string;
  totalMinor: number;
  currency: string;
  amountReceived: number | null;
  receivedCurrency: string | null;
  paymentIntentId: string | null;
  flaggedAt: string;
}

export interface FailedJob {
  queue: string;
  jobId: string;
  name: string;
  orderId: string | null;
  eventId: string | null;
  failedReason: string;
  attemptsMade: number;
  failedAt: string | null;
}

export interface AttentionList {
  stuck: StuckOrder[];
  stuckEvents: { eventId: string; type: string; orderId: string | null; receivedAt: string; message: string }[];
  flagged: FlaggedOrder[];
  mismatches: MismatchedOrder[];
  failedJobs: FailedJob[];
  stuckAfterMs: number;
  /** Parts cut at ATTENTION_LIMIT rows. */
  truncated: string[];
}

const SAFE_FIELDS = { accessToken: 0, requestHash: 0, idempotencyKey: 0, clientSecret: 0, history: 0, customer: 0 };

async function stuckOrders(ctx: AuditContext): Promise<StuckOrder[]> {
  const before = new Date(ctx.now.getTime() - ctx.stuckAfterMs);
  // The candidates of each of the auditor's stuck checks; the check itself decides.
  const candidates = await Order.find(
    {
      $or: [
        { state: { $in: ['CREATED', 'INVENTORY_RESERVED', 'PAID'] }, stateChangedAt: { $lt: before } },
        { state: 'PAYMENT_PENDING', holdExpiresAt: { $lt: before } },
        { pendingRelease: { $exists: true }, stateChangedAt: { $lt: before } },
        { pendingIntentCancel: true, stateChangedAt: { $lt: before } },
      ],
    },
    SAFE_FIELDS,
  )
    .sort({ _id: 1 })
    .limit(ATTENTION_LIMIT)
    .lean<OrderDoc[]>();
  return candidates.flatMap((o) => {
    const problems = checkStuckOrder(o, ctx);
    return problems.length ? [{ orderId: o._id, state: o.state, stateChangedAt: o.stateChangedAt.toISOString(), problems: problems.map((p) => ({ check: p.check, message: p.message })) }] : [];
  });
}

async function stuckEvents(ctx: AuditContext): Promise<AttentionList['stuckEvents']> {
  const before = new Date(ctx.now.getTime() - ctx.stuckAfterMs);
  const events = await WebhookEvent.find({ processedAt: { $exists: false }, receivedAt: { $lt: before } }, { payload: 0 })
    .sort({ _id: 1 })
    .limit(ATTENTION_LIMIT)
    .lean<Omit<WebhookEventDoc & { _id: string }, 'payload'>[]>();
  return events.flatMap((e) => {
    const v = checkStuckEvent(e, ctx);
    return v ? [{ eventId: e._id, type: e.type, orderId: e.orderId ?? null, receivedAt: e.receivedAt.toISOString(), message: v.message }] : [];
  });
}

async function flaggedOrders(): Promise<FlaggedOrder[]> {
  const orders = await Order.find({ attention: { $exists: true, $ne: [] } }, SAFE_FIELDS).sort({ _id: 1 }).limit(ATTENTION_LIMIT).lean<OrderDoc[]>();
  return orders.map((o) => ({
    orderId: o._id,
    state: o.state,
    flags: (o.attention ?? []).map((a) => ({ reason: a.reason, detail: a.detail ?? null, at: a.at.toISOString() })),
  }));
}

async function mismatchedOrders(): Promise<MismatchedOrder[]> {
  const orders = await Order.find({ state: 'PAYMENT_MISMATCH' }, SAFE_FIELDS).sort({ _id: 1 }).limit(ATTENTION_LIMIT).lean<OrderDoc[]>();
  return orders.map((o) => ({
    orderId: o._id,
    totalMinor: o.totalMinor,
    currency: o.currency,
    amountReceived: o.payment?.amountReceived ?? null,
    receivedCurrency: o.payment?.currency ?? null,
    paymentIntentId: o.paymentIntentId ?? null,
    flaggedAt: o.stateChangedAt.toISOString(),
  }));
}

/** Jobs that used up their retries, newest first per queue. Their orders are still re-driven by the reconciler. */
export async function failedJobs(queues: Record<string, Queue>, perQueue = 20): Promise<FailedJob[]> {
  const lists = await Promise.all(
    Object.values(queues).map(async (queue) =>
      (await queue.getFailed(0, perQueue - 1)).filter(Boolean).map((job) => {
        const data = (job.data ?? {}) as { orderId?: unknown; eventId?: unknown };
        return {
          queue: queue.name,
          jobId: job.id ?? '',
          name: job.name,
          orderId: typeof data.orderId === 'string' ? data.orderId : null,
          eventId: typeof data.eventId === 'string' ? data.eventId : null,
          failedReason: (job.failedReason ?? '').slice(0, 500),
          attemptsMade: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        };
      }),
    ),
  );
  return lists.flat();
}

export async function listAttention(deps: { queues: Record<string, Queue>; stuckAfterMs: number; now?: Date }): Promise<AttentionList> {
  const ctx: AuditContext = { now: deps.now ?? new Date(), stuckAfterMs: deps.stuckAfterMs };
  const [stuck, events, flagged, mismatches, jobs] = await Promise.all([stuckOrders(ctx), stuckEvents(ctx), flaggedOrders(), mismatchedOrders(), failedJobs(deps.queues)]);
  const truncated = Object.entries({ stuck, stuckEvents: events, flagged, mismatches })
    .filter(([, rows]) => rows.length >= ATTENTION_LIMIT)
    .map(([part]) => part);
  return { stuck, stuckEvents: events, flagged, mismatches, failedJobs: jobs, stuckAfterMs: deps.stuckAfterMs, truncated };
}
