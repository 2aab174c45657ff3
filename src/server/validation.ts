/**
 * Bounded input schemas shared by every transport. Every string has a length
 * limit, every number a range, every object is strict, so a hostile request
 * is refused with the field named before it touches the domain.
 */
import { z } from 'zod';

export const LIMITS = { maxQty: 100, maxLines: 50 } as const;

export const skuSchema = z
  .string()
  .trim()
  .min(2)
  .max(64)
  .regex(/^[A-Z0-9][A-Z0-9-]*$/, 'SKU must be upper-case letters, digits and dashes');

export const qtySchema = z.number().int('quantity must be a whole number').min(1).max(LIMITS.maxQty);

/** Capabilities (cart ids, access tokens) are random base64url strings. */
const capability = (what: string) =>
  z
    .string()
    .min(20)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, `${what} is malformed`);

export const cartIdSchema = capability('cart id');
export const accessTokenSchema = capability('access token');
export const orderIdSchema = z
  .string()
  .max(64)
  .regex(/^ord_[a-f0-9]{24}$/, 'order id is malformed');

export const idempotencyKeySchema = z
  .string()
  .min(8, 'Idempotency-Key must be at least 8 characters')
  .max(255)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'Idempotency-Key may contain letters, digits and _ . : - only');

const text = (max: number) => z.string().trim().min(1).max(max);

export const addressSchema = z
  .object({
    line1: text(200),
    line2: z.string().trim().max(200).optional(),
    city: text(100),
    state: text(100),
    postalCode: z
      .string()
      .trim()
      .min(3)
      .max(12)
      .regex(/^[A-Za-z0-9 -]+$/, 'postal code is malformed'),
    country: z
      .string()
      .trim()
      .regex(/^[A-Za-z]{2}$/, 'country must be a two-letter ISO code')
      .transform((c) => c.toUpperCase()),
  })
  .strict();

export const customerSchema = z
  .object({
    name: text(120),
    email: z.email('email is not a valid address').max(254),
    address: addressSchema,
  })
  .strict();

export type CustomerInput = z.infer<typeof customerSchema>;

export const placeOrderInput = z
  .object({
    cartId: cartIdSchema,
    customer: customerSchema,
    idempotencyKey: idempotencyKeySchema.optional(),
  })
  .strict();

export type PlaceOrderInput = z.infer<typeof placeOrderInput>;
