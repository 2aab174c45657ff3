/**
 * Order lifecycle invariants: every order's history is a legal path through
 * the state table (state-machine.ts) ending in its current state, with
 * stateChangedAt at its last step, so the history can be trusted as the
 * audit trail; and nothing is stuck: every step, every piece of pending work
 * a transition recorded, every received webhook event completes within
 * stuckAfterMs (the reconciler's own threshold), or the reconciler is not
 * doing its job; and every order that may still need the reconciler is in
 * the list it walks.
 */
import { needsReconciler } from '../open-work/open-orders';
import { canTransition, INITIAL_STATE, isLegalHistory } from '../orders/state-machine';
import type { OrderState } from '../orders/states';
import { age, eventSubject, isYoung, orderSubject, type AuditContext, type AuditEvent, type AuditOrder, type Violation } from './types';

/** States an automatic step must move on from within stuckAfterMs. */
const MUST_MOVE_ON: ReadonlySet<OrderState> = new Set(['CREATED', 'INVENTORY_RESERVED', 'PAID']);

/** Explains why isLegalHistory refused a history. */
function historyProblem(history: AuditOrder['history'], current: OrderState): string {
  const [first, ...rest] = history;
  if (!first) return `expected a history starting with null → ${INITIAL_STATE}, found an empty history`;
  if (first.from !== null || first.to !== INITIAL_STATE) {
    return `expected the history to start with null → ${INITIAL_STATE}, found ${String(first.from ?? null)} → ${first.to}`;
  }
  let state: string = first.to;
  for (const [i, step] of rest.entries()) {
    const n = i + 2;
    if (step.from !== state) return `step ${n} (${String(step.from)} → ${step.to}, ${step.action}) starts from ${String(step.from)}, but the order was ${state}`;
    if (!canTransition(step.from as OrderState, step.to as OrderState)) {
      return `step ${n} (${step.from} → ${step.to}, ${step.action}) is not a transition of the state table`;
    }
    state = step.to;
  }
  return `expected the history to end in the order's state ${current}, found it ends in ${state}`;
}

export function checkHistory(order: Pick<AuditOrder, '_id' | 'state' | 'stateChangedAt' | 'history'>): Violation[] {
  const subject = orderSubject(order._id);
  const out: Violation[] = [];
  if (!isLegalHistory(order.history, order.state)) {
    out.push({ check: 'history.illegal', subject, message: historyProblem(order.history, order.state) });
  }
  const last = order.history[order.history.length - 1];
  if (last && last.at.getTime() !== order.stateChangedAt.getTime()) {
    out.push({
      check: 'history.timestamp',
      subject,
      message: `expected stateChangedAt = last history entry's at ${last.at.toISOString()}, found ${order.stateChangedAt.toISOString()}`,
    });
  }
  return out;
}

export function checkStuckOrder(
  order: Pick<AuditOrder, '_id' | 'state' | 'stateChangedAt' | 'holdExpiresAt' | 'pendingRelease' | 'pendingIntentCancel'>,
  ctx: AuditContext,
): Violation[] {
  const subject = orderSubject(order._id);
  const out: Violation[] = [];
  if (MUST_MOVE_ON.has(order.state) && !isYoung(order.stateChangedAt, ctx)) {
    out.push({ check: 'stuck.order', subject, message: `expected to leave ${order.state} within stuckAfterMs, found it there since ${age(order.stateChangedAt, ctx)}` });
  }
  if (order.state === 'PAYMENT_PENDING' && order.holdExpiresAt && order.holdExpiresAt.getTime() < ctx.now.getTime() - ctx.stuckAfterMs) {
    out.push({
      check: 'stuck.expiry',
      subject,
      message: `expected EXPIRED (or PAID) once the hold ran out, found PAYMENT_PENDING with holdExpiresAt ${age(order.holdExpiresAt, ctx)}`,
    });
  }
  const pending = [
    ...(order.pendingRelease ? [`pendingRelease ${order.pendingRelease}`] : []),
    ...(order.pendingIntentCancel ? ['pendingIntentCancel'] : []),
  ];
  if (pending.length > 0 && !isYoung(order.stateChangedAt, ctx)) {
    out.push({
      check: 'stuck.pending-work',
      subject,
      message: `expected ${pending.join(' and ')} done within stuckAfterMs, found still set on the ${order.state} order since ${age(order.stateChangedAt, ctx)}`,
    });
  }
  return out;
}

export function checkStuckEvent(event: Pick<AuditEvent, '_id' | 'type' | 'orderId' | 'receivedAt' | 'processedAt'>, ctx: AuditContext): Violation | null {
  if (event.processedAt || isYoung(event.receivedAt, ctx)) return null;
  return {
    check: 'stuck.event',
    subject: eventSubject(event._id),
    message: `${event.type}${event.orderId ? ` for order ${event.orderId}` : ''}: expected processed within stuckAfterMs, found unprocessed since ${age(event.receivedAt, ctx)}`,
  };
}

/** An order the reconciler may still owe work is in the list it walks (open-work/open-orders.ts), or nothing would re-drive it after a lost job. */
export function checkListedIfOpen(order: Pick<AuditOrder, '_id' | 'state' | 'pendingRelease' | 'pendingIntentCancel' | 'lateDecision'>, listed: ReadonlySet<string>): Violation | null {
  if (listed.has(order._id) || !needsReconciler(order)) return null;
  const why = [order.state, ...(order.pendingRelease ? ['pendingRelease'] : []), ...(order.pendingIntentCancel ? ['pendingIntentCancel'] : []), ...(order.lateDecision ? [`lateDecision ${order.lateDecision}`] : [])];
  return { check: 'open.missing', subject: orderSubject(order._id), message: `expected an open-orders entry for the order (${why.join(', ')}), found none` };
}
