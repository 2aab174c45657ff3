import { listCatalog } from '../../catalog/catalog';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const catalogRouter = createTRPCRouter({
  list: publicProcedure.query(async ({ ctx }) => {
    const { config } = await ctx.runtime();
    return listCatalog(config.LOW_STOCK_THRESHOLD);
  }),
});
