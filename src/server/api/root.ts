import { adminRouter } from './routers/admin';
import { cartRouter } from './routers/cart';
import { catalogRouter } from './routers/catalog';
import { checkoutRouter } from './routers/checkout';
import { ordersRouter } from './routers/orders';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  catalog: catalogRouter,
  cart: cartRouter,
  checkout: checkoutRouter,
  orders: ordersRouter,
  admin: adminRouter,
});

/** The API's type; clients import only this. */
export type AppRouter = typeof appRouter;

/** Calls procedures in-process (tests, server components). */
export const createCaller = createCallerFactory(appRouter);
