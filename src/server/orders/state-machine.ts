/**
 * The order state machine: the only code that changes an order's state.
 *
 * Every transition is one conditional single-document update "from the state
 * I expect to the state I want", which MongoDB applies atomically, and it
 * appends the step to the order's history in the same write. Two workers
 * racing on one order therefore cannot both win; a retry of a step that
 * already happened changes nothing and reports `already-done`; a transition
 * the table does not allow, or one from a state the order is not in, is
 * refused, changes nothing and is logged.
 */
import { Order, type OrderDoc } from '../../../prisma-free-models/order';
import { insertValidated } from '../../../prisma-free-models/insert-validated';
import { DomainError } from '../errors';
import { logger, type IdempotencyOutcome } from '../logger';
import { countAppliedAtCreation, countTransitions } from '../metrics/domain-metrics';
import type { OrderChangePublisher } from './order-changes';
import type { OrderState } from './states';

export interface TransitionRule {
  readonly from: OrderState;
  readonly to: OrderState;
  readonly action: string;
  /** Taken only on an operator's decision (the console), never by an automatic step. */
  readonly byOperator?: true;
}

/** The whole table. README.md draws it; state-machine.test.ts checks it. */
export const TRANSITIONS: readonly TransitionRule[] = [
  // The happy path.
  { from: 'CREATED', to: 'INVENTORY_RESERVED', action: 'reserve' },
  { from: 'INVENTORY_RESERVED', to: 'PAYMENT_PENDING', action: 'request-payment' },
  { from: 'PAYMENT_PENDING', to: 'PAID', action: 'mark-paid' },
  { from: 'PAID', to: 'CONFIRMED', action: 'finalize' },
  // Reservation impossible: nothing is held.
  { from: 'CREATED', to: 'REJECTED', action: 'reject' },
  // The customer cancels before paying.
  { from: 'CREATED', to: 'CANCELLED', action: 'cancel' },
  { from: 'INVENTORY_RESERVED', to: 'CANCELLED', action: 'cancel' },
  { from: 'PAYMENT_PENDING', to: 'CANCELLED', action: 'cancel' },
  // The hold time ran out before payment.
  { from: 'INVENTORY_RESERVED', to: 'EXPIRED', action: 'expire' },
  { from: 'PAYMENT_PENDING', to: 'EXPIRED', action: 'expire' },
  // A payment that succeeded after the order expired: honoured if the stock
  // can be held again, refunded otherwise. After the customer's own cancel it
  // is always refunded: they did not want the goods.
  { from: 'EXPIRED', to: 'PAID', action: 'accept-late-payment' },
  { from: 'EXPIRED', to: 'REFUNDED', action: 'refund-late-payment' },
  { from: 'CANCELLED', to: 'REFUNDED', action: 'refund-late-payment' },
  // Money arrived with the wrong amount or currency: never PAID, a human reviews.
  { from: 'PAYMENT_PENDING', to: 'PAYMENT_MISMATCH', action: 'flag-mismatch' },
  { from: 'EXPIRED', to: 'PAYMENT_MISMATCH', action: 'flag-mismatch' },
  { from: 'CANCELLED', to: 'PAYMENT_MISMATCH', action: 'flag-mismatch' },
  // An operator reviewed a mismatched payment and gives the money back (refund-mismatch.ts).
  { from: 'PAYMENT_MISMATCH', to: 'REFUNDED', action: 'refund-mismatch', byOperator: true },
];

export const INITIAL_STATE: OrderState = 'CREATED';

export function findRule(from: OrderState, to: OrderState): TransitionRule | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to);
}

export function canTransition(from: OrderState, to: OrderState): boolean {
  return findRule(from, to) !== undefined;
}

/** States reachable from `state` by one or more legal transitions. */
export function reachableFrom(state: OrderState): Set<OrderState> {
  const seen = new Set<OrderState>();
  const stack: OrderState[] = [state];
  while (stack.length > 0) {
    const current = stack.pop() as OrderState;
    for (const t of TRANSITIONS) {
      if (t.from === current && !seen.has(t.to)) {
        seen.add(t.to);
        stack.push(t.to);
      }
    }
  }
  return seen;
}

export interface HistoryEntry {
  from: OrderState | null;
  to: OrderState;
  action: string;
  outcome: string;
  at: Date;
  detail?: string;
}

/** Whether a history is a legal path from creation, and ends in `current`. */
export function isLegalHistory(history: Iterable<{ from?: string | null; to: string }>, current: OrderState): boolean {
  const [first, ...rest] = [...history];
  if (!first || first.from !== null || first.to !== INITIAL_STATE) return false;
  let state: string = first.to;
  for (const step of rest) {
    if (step.from !== state || !canTransition(step.from as OrderState, step.to as OrderState)) return false;
    state = step.to;
  }
  return state === current;
}

/** The fields that start an order's life: used once, by placeOrder. */
export function initialStateFields(action: string, at = new Date()): {
  state: OrderState;
  stateChangedAt: Date;
  history: HistoryEntry[];
} {
  return {
    state: INITIAL_STATE,
    stateChangedAt: at,
    history: [{ from: null, to: INITIAL_STATE, action, outcome: 'created', at }],
  };
}

/**
 * Writes an order rejected as it is placed: its reservation could only fail,
 * so it is created already past it. The history is the one a reservation
 * would leave (created, then CREATED -> REJECTED by 'reject'), written in the
 * same insert, so every reader, the auditor included, sees an ordinary
 * rejected order. Fails like any insert (a duplicate key) and then counts nothing.
 */
export async function insertRejectedAtPlacement(fields: Record<string, unknown>, action: string, detail: string, at = new Date()): Promise<OrderDoc> {
  const reject = findRule(INITIAL_STATE, 'REJECTED') as TransitionRule;
  const born = initialStateFields(action, at);
  const rejected = { from: reject.from, to: reject.to, action: reject.action, outcome: 'applied', at, detail };
  const created = await insertValidated(Order, { ...fields, state: reject.to, stateChangedAt: at, history: [...born.history, rejected] });
  countAppliedAtCreation(reject.action);
  return created;
}

export type TransitionResult =
  | { outcome: Extract<IdempotencyOutcome, 'applied' | 'already-done'>; order: OrderDoc }
  | { outcome: 'refused'; order: OrderDoc | null; reason: string };

export interface TransitionRequest {
  from: OrderState;
  to: OrderState;
  /** Extra fields written in the same atomic update (e.g. the PaymentIntent id). */
  set?: Record<string, unknown>;
  /** Fields removed in the same atomic update (e.g. pending work it supersedes). */
  unset?: string[];
  /** Further conditions on the order, checked in the same atomic update (e.g. the decision a step follows). */
  where?: Record<string, unknown>;
  detail?: string;
}

let publishChange: OrderChangePublisher = () => undefined;

/**
 * Where applied transitions are announced (order-changes.ts), installed once
 * by each process's wiring (src/server/runtime.ts, worker/index.ts) from its
 * Deps. A process hook rather than an argument of transition(): every step
 * calls transition(), and the announcement is best effort and stateless, so
 * threading it through each step's signature would buy nothing. Without one
 * (tests driving steps by hand, scripts) nothing is announced.
 */
export function announceTransitionsWith(publisher: OrderChangePublisher): void {
  publishChange = publisher;
}

/** The forward path; an order further along it has "already done" an earlier step. */
const HAPPY_PATH: readonly OrderState[] = ['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID', 'CONFIRMED'];

function alreadyDone(current: OrderState, target: OrderState): boolean {
  if (current === target) return true;
  const c = HAPPY_PATH.indexOf(current);
  const t = HAPPY_PATH.indexOf(target);
  return c >= 0 && t >= 0 && c > t;
}

/**
 * Moves one order from `from` to `to`, or explains why not.
 * Throws ILLEGAL_TRANSITION only for a pair the table does not contain: that
 * is a programming error, not a race.
 */
async function applyTransition(orderId: string, req: TransitionRequest): Promise<TransitionResult> {
  const rule = findRule(req.from, req.to);
  if (!rule) {
    logger.error({ orderId, from: req.from, to: req.to, outcome: 'refused' }, 'illegal transition attempted');
    throw new DomainError('ILLEGAL_TRANSITION', `An order cannot move from ${req.from} to ${req.to}`);
  }
  const at = new Date();
  const entry: HistoryEntry = { from: req.from, to: req.to, action: rule.action, outcome: 'applied', at };
  if (req.detail) entry.detail = req.detail;

  const updated = await Order.findOneAndUpdate(
    { ...req.where, _id: orderId, state: req.from },
    {
      $set: { ...req.set, state: req.to, stateChangedAt: at },
      $push: { history: entry },
      ...(req.unset?.length ? { $unset: Object.fromEntries(req.unset.map((f) => [f, 1])) } : {}),
    },
    { returnDocument: 'after' },
  ).lean<OrderDoc>();

  const log = { orderId, action: rule.action, from: req.from, to: req.to };
  if (updated) {
    logger.info({ ...log, state: req.to, outcome: 'applied' }, 'order transition');
    // After the write: a waiter woken by it reads the new state.
    publishChange(orderId);
    return { outcome: 'applied', order: updated };
  }

  const current = await Order.findById(orderId).lean<OrderDoc>();
  if (!current) {
    logger.warn({ ...log, outcome: 'refused' }, 'transition on a missing order');
    return { outcome: 'refused', order: null, reason: 'order not found' };
  }
  const state = current.state;
  if (state === req.from) {
    logger.warn({ ...log, state, outcome: 'refused' }, 'order transition refused: a condition no longer holds');
    return { outcome: 'refused', order: current, reason: `order no longer matches ${JSON.stringify(req.where)}` };
  }
  if (alreadyDone(state, req.to)) {
    logger.info({ ...log, state, outcome: 'already-done' }, 'order transition already done');
    return { outcome: 'already-done', order: current };
  }
  logger.warn({ ...log, state, outcome: 'refused' }, 'order transition refused: order is in another state');
  return { outcome: 'refused', order: current, reason: `order is ${state}` };
}

/** The entry point (see applyTransition); each outcome is counted by action for the metrics. */
export const transition = countTransitions(applyTransition, (req: TransitionRequest) => findRule(req.from, req.to)?.action ?? 'none');
