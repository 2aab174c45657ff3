/** The order states. The transition table lives in state-machine.ts. */
export const ORDER_STATES = [
  'CREATED',
  'INVENTORY_RESERVED',
  'PAYMENT_PENDING',
  'PAID',
  'CONFIRMED',
  'REJECTED',
] as const;

export type OrderState = (typeof ORDER_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<OrderState> = new Set(['CONFIRMED', 'REJECTED']);
