import { z } from 'zod';
import { getOrderForOwner } from '../../orders/order-view';
import { accessTokenSchema, orderIdSchema } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const ordersRouter = createTRPCRouter({
  get: publicProcedure
    .input(z.object({ orderId: orderIdSchema, accessToken: accessTokenSchema }).strict())
    .query(async ({ ctx, input }) => {
      await ctx.runtime();
      return getOrderForOwner(input.orderId, input.accessToken);
    }),
});
