/** Bounded inputs of the operator console's procedures (same rules as src/server/validation.ts). */
import { z } from 'zod';
import { MAX_STRIPES } from '../inventory/stripe-limits';
import { ORDER_STATES } from '../orders/states';
import { idempotencyKeySchema, orderIdSchema, skuSchema } from '../validation';

const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' });

export const orderListInput = z
  .object({
    states: z.array(z.enum(ORDER_STATES)).max(ORDER_STATES.length).optional(),
    from: instant.optional(),
    to: instant.optional(),
    /** An exact order id or customer email. */
    search: z.string().trim().min(1).max(254).optional(),
    after: orderIdSchema.optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .strict();

export const orderIdInput = z.object({ orderId: orderIdSchema }).strict();

export const stockListInput = z
  .object({ after: skuSchema.optional(), sku: skuSchema.optional(), limit: z.number().int().min(1).max(100).optional() })
  .strict();

export const addStockInput = z
  .object({
    sku: skuSchema,
    qty: z.number().int('quantity must be a whole number').min(1).max(100_000),
    /** One per operator action: a retried request with the same key adds nothing more. */
    requestKey: idempotencyKeySchema,
  })
  .strict();

export const createProductInput = z
  .object({
    sku: skuSchema,
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).default(''),
    priceMinor: z.number().int('price must be in minor units (paise)').min(1).max(1_000_000_000),
    initialStock: z.number().int().min(0).max(1_000_000),
    /** Documents the stock is split over (inventory/stripes.ts): more for a product expected to sell thousands of units at once. */
    stripes: z.number().int().min(1).max(MAX_STRIPES).default(1),
  })
  .strict();
