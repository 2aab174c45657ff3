import { z } from 'zod';
import { addCartLine, createCart, getCart, removeCartLine, setCartLineQty } from '../../cart/cart';
import { cartIdSchema, qtySchema, skuSchema } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

const lineInput = z.object({ cartId: cartIdSchema, sku: skuSchema, qty: qtySchema }).strict();

export const cartRouter = createTRPCRouter({
  create: publicProcedure.mutation(async ({ ctx }) => {
    await ctx.runtime();
    return createCart();
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
