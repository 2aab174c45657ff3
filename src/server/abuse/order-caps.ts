/**
 * How much one order may take: at most MAX_QTY_PER_SKU units of one product
 * and MAX_LINES_PER_ORDER products, and one customer at most
 * MAX_UNPAID_ORDERS_PER_CUSTOMER unpaid orders at once (customer-slots.ts).
 * Without them one order could hold 50 lines × 100 units for the whole hold
 * time. The cart refuses a line over the caps as it is added; placeOrder
 * checks again, since a cart may have been filled under older settings.
 */
import type { Config } from '../config';
import { DomainError } from '../errors';

export interface OrderLimits {
  maxQtyPerSku: number;
  maxLines: number;
  maxUnpaidOrdersPerCustomer: number;
}

export function orderLimitsFrom(config: Pick<Config, 'MAX_QTY_PER_SKU' | 'MAX_LINES_PER_ORDER' | 'MAX_UNPAID_ORDERS_PER_CUSTOMER'>): OrderLimits {
  return {
    maxQtyPerSku: config.MAX_QTY_PER_SKU,
    maxLines: config.MAX_LINES_PER_ORDER,
    maxUnpaidOrdersPerCustomer: config.MAX_UNPAID_ORDERS_PER_CUSTOMER,
  };
}

export const qtyLimitMessage = (limits: Pick<OrderLimits, 'maxQtyPerSku'>) => `At most ${limits.maxQtyPerSku} of one product per order`;
export const linesLimitMessage = (limits: Pick<OrderLimits, 'maxLines'>) => `An order holds at most ${limits.maxLines} different products`;

/** Refuses lines an order may not have, naming the limit. */
export function assertWithinOrderLimits(lines: readonly { sku: string; qty: number }[], limits: OrderLimits): void {
  if (lines.length > limits.maxLines) {
    throw new DomainError('LIMIT_EXCEEDED', `${linesLimitMessage(limits)}; this cart has ${lines.length}`, { field: 'cartId', limit: 'lines' });
  }
  const over = lines.find((l) => l.qty > limits.maxQtyPerSku);
  if (over) {
    throw new DomainError('LIMIT_EXCEEDED', `${qtyLimitMessage(limits)}; this cart has ${over.qty} of ${over.sku}`, {
      field: 'cartId',
      sku: over.sku,
      limit: 'qty-per-sku',
    });
  }
}
