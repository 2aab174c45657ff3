import { listCatalog } from '../../catalog/catalog';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const catalogRouter = createTRPCRouter({
  list: publicProcedure.query(async ({ ctx }) => {
    await ctx.runtime();
    return listCatalog();
  }),
});
