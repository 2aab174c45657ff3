import { z } from 'zod';
import { cancelOrder } from '../../orders/close-order';
import { getOrderForOwner } from '../../orders/order-view';
import { accessTokenSchema, orderIdSchema } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

const ownerInput = z.object({ orderId: orderIdSchema, accessToken: accessTokenSchema }).strict();

export const ordersRouter = createTRPCRouter({
  get: publicProcedure.input(ownerInput).query(async ({ ctx, input }) => {
    await ctx.runtime();
    return getOrderForOwner(input.orderId, input.accessToken);
  }),
  /** Cancels an unpaid order; repeating it returns the cancelled order. */
  cancel: publicProcedure.input(ownerInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return cancelOrder(input.orderId, input.accessToken, deps);
  }),
});
