/**
 * The invariant auditor's vocabulary: what a violation is, what a report
 * holds, and the narrow view of the stored documents the checks read (only
 * the fields they need, so the checks stay plain functions over plain data).
 */
import type Stripe from 'stripe';
import type { OrderState } from '../orders/states';

/** Every check the auditor runs, with the promise it guards. */
export const CHECKS = {
  'stock.conservation': 'initialStock = available + reserved + sold',
  'stock.negative': 'no stock counter below zero',
  'stock.reserved-sum': 'reserved = sum of the product’s holds',
  'stock.duplicate-hold': 'at most one hold per order on a product',
  'holds.unknown-order': 'every hold belongs to an existing order',
  'holds.stray': 'a hold belongs to an order that may hold stock (live reservation, pending release, reservation in flight)',
  'holds.missing': 'an order in INVENTORY_RESERVED / PAYMENT_PENDING / PAID holds every line',
  'sales.unsold': 'every line of a CONFIRMED order was sold to it (a sale record, written with the stock movement)',
  'stock.sold-sum': 'sold = sum of the sales recorded for the product, so no unit was sold without a buyer or twice',
  'payment.charged-twice': 'at most one PaymentIntent confirmed succeeded per order (by Stripe, not by an event’s claim)',
  'payment.foreign-intent': 'the PaymentIntent that succeeded is the one recorded on the order',
  'payment.record': 'a CONFIRMED / PAID order records its PaymentIntent, event, amount and currency',
  'payment.event': 'the event recorded as the order’s payment exists and Stripe confirmed it for the order’s PaymentIntent and amount',
  'payment.stripe': 'Stripe agrees the order’s PaymentIntent succeeded for the order’s amount and currency',
  'payment.unsettled': 'a payment that succeeded is applied within stuckAfterMs: the order ends PAID / CONFIRMED, REFUNDED or PAYMENT_MISMATCH, never stranded',
  'payment.after-cancel': 'an order its customer cancelled is never PAID or CONFIRMED (its payment is refunded)',
  'refund.record': 'a REFUNDED order records its refund',
  'refund.stripe': 'Stripe agrees the refund succeeded for the order’s PaymentIntent',
  'history.illegal': 'the history is a legal path through the state table ending in the current state',
  'history.timestamp': 'stateChangedAt is the time of the last history entry',
  'stuck.order': 'no order sits in CREATED / INVENTORY_RESERVED / PAID longer than stuckAfterMs',
  'stuck.expiry': 'no PAYMENT_PENDING order outlives its hold by more than stuckAfterMs',
  'stuck.pending-work': 'no release / PaymentIntent cancel left pending longer than stuckAfterMs',
  'stuck.event': 'no webhook event left unprocessed longer than stuckAfterMs',
  'open.missing': 'every order that may still need the reconciler (not settled, or with pending work) is in the open-orders list it walks',
} as const;

export type CheckName = keyof typeof CHECKS;

export interface Violation {
  check: CheckName;
  /** What is wrong: `sku:<sku>`, `order:<orderId>` or `event:<eventId>`. */
  subject: string;
  /** Expected vs found, in words. */
  message: string;
}

export interface AuditReport {
  violations: Violation[];
  checked: { products: number; orders: number };
}

export interface AuditOptions {
  /** The moment the audit judges ages against (default: now). */
  now?: Date;
  /** How long pending work may take before it counts as stuck (STUCK_AFTER_MS). */
  stuckAfterMs: number;
  /** When given, PaymentIntents and refunds are also checked at Stripe. */
  stripe?: Stripe;
  /** Audit only these orders (order checks). With either scope given, an unscoped kind is not audited. */
  orderIds?: string[];
  /** Audit only these products (stock checks). */
  skus?: string[];
  /** Look again at what the first pass found and report only what is confirmed (default true). */
  recheck?: boolean;
}

export interface AuditContext {
  now: Date;
  stuckAfterMs: number;
}

export const skuSubject = (sku: string) => `sku:${sku}`;
export const orderSubject = (orderId: string) => `order:${orderId}`;
export const eventSubject = (eventId: string) => `event:${eventId}`;

/** Whether something that happened at `at` is still within stuckAfterMs of now. */
export function isYoung(at: Date | null | undefined, ctx: AuditContext): boolean {
  return at instanceof Date && ctx.now.getTime() - at.getTime() < ctx.stuckAfterMs;
}

export function age(at: Date, ctx: AuditContext): string {
  const s = Math.round((ctx.now.getTime() - at.getTime()) / 1000);
  return `${at.toISOString()} (${s} s ago; stuckAfterMs ${ctx.stuckAfterMs})`;
}

export interface AuditHold {
  orderId: string;
  ref: string;
  qty: number;
  at: Date;
}

export interface AuditProduct {
  _id: string;
  initialStock: number;
  available: number;
  reserved: number;
  sold: number;
  holds: AuditHold[];
  /** Sales not yet copied onto their order. */
  sales?: AuditSale[] | null;
}

export interface AuditSale {
  orderId: string;
  qty: number;
}

export interface AuditHistoryEntry {
  from?: string | null;
  to: string;
  action: string;
  at: Date;
}

export interface AuditOrder {
  _id: string;
  state: OrderState;
  stateChangedAt: Date;
  lines: { sku: string; qty: number }[];
  currency: string;
  totalMinor: number;
  paymentIntentId?: string | null;
  payment?: { succeededEventId?: string | null; amountReceived?: number | null; currency?: string | null } | null;
  holdRef: string;
  holdExpiresAt?: Date | null;
  pendingRelease?: string | null;
  pendingIntentCancel?: boolean | null;
  lateDecision?: string | null;
  refund?: { id?: string | null; amount?: number | null } | null;
  sold?: { sku: string; qty: number }[] | null;
  history: AuditHistoryEntry[];
}

/** The part of an order the hold checks need. */
export type HoldOwner = Pick<AuditOrder, '_id' | 'state' | 'stateChangedAt' | 'holdRef' | 'pendingRelease'>;

export interface AuditEvent {
  _id: string;
  type: string;
  objectId?: string | null;
  orderId?: string | null;
  payload: string;
  receivedAt: Date;
  processedAt?: Date | null;
  verified?: { paymentIntentId?: string | null; status?: string | null; amountReceived?: number | null; currency?: string | null; orderId?: string | null } | null;
}
