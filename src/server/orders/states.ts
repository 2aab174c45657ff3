/** The order states. The transition table lives in state-machine.ts. */
export const ORDER_STATES = [
  'CREATED',
  'INVENTORY_RESERVED',
  'PAYMENT_PENDING',
  'PAID',
  'CONFIRMED',
  'REJECTED',
  'CANCELLED',
  'EXPIRED',
  'REFUNDED',
  'PAYMENT_MISMATCH',
] as const;

export type OrderState = (typeof ORDER_STATES)[number];

/** States no automatic step leaves (an operator may refund a PAYMENT_MISMATCH: state-machine.ts). */
export const TERMINAL_STATES: ReadonlySet<OrderState> = new Set(['CONFIRMED', 'REJECTED', 'REFUNDED', 'PAYMENT_MISMATCH']);

/**
 * Ended for the customer, but a payment that succeeded anyway can still arrive
 * and must be honoured or refunded (the late-payment path).
 */
export const CLOSED_UNPAID_STATES: ReadonlySet<OrderState> = new Set(['CANCELLED', 'EXPIRED']);

/** States in which the order's stock must be held (reserved). */
export const HOLDING_STATES: ReadonlySet<OrderState> = new Set(['INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAID']);

/** States whose order may be cancelled by the customer. */
export const CANCELLABLE_STATES: readonly OrderState[] = ['CREATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING'];
