import { z } from 'zod';
import { addCartLine, createCart, getCart, removeCartLine, setCartLineQty } from '../../cart/cart';
import { cartIdSchema, LIMITS, qtySchema, skuSchema } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

const lineInput = z.object({ cartId: cartIdSchema, sku: skuSchema, qty: qtySchema }).strict();

/** A cart's first lines (the storefront's first add). */
const firstLinesInput = z
  .object({ lines: z.array(z.object({ sku: skuSchema, qty: qtySchema }).strict()).min(1).max(LIMITS.maxLines) })
  .strict();

export const cartRouter = createTRPCRouter({
  // No input: tRPC reads an input only when the procedure declares one, and a
  // call without a body would then be refused as invalid JSON.
  create: publicProcedure.mutation(async ({ ctx }) => {
    const { deps } = await ctx.runtime();
    return createCart([], { currency: deps.currency, limits: deps.orderLimits });
  }),
  createWithLines: publicProcedure.input(firstLinesInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return createCart(input.lines, { currency: deps.currency, limits: deps.orderLimits });
  }),
  get: publicProcedure.input(z.object({ cartId: cartIdSchema }).strict()).query(async ({ ctx, input }) => {
    const { config } = await ctx.runtime();
    return getCart(input.cartId, config.CURRENCY);
  }),
  addLine: publicProcedure.input(lineInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return addCartLine(input.cartId, input.sku, input.qty, { currency: deps.currency, limits: deps.orderLimits });
  }),
  updateLine: publicProcedure.input(lineInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return setCartLineQty(input.cartId, input.sku, input.qty, { currency: deps.currency, limits: deps.orderLimits });
  }),
  removeLine: publicProcedure
    .input(z.object({ cartId: cartIdSchema, sku: skuSchema }).strict())
    .mutation(async ({ ctx, input }) => {
      const { config } = await ctx.runtime();
      return removeCartLine(input.cartId, input.sku, config.CURRENCY);
    }),
});
