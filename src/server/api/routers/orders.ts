import { z } from 'zod';
import { cancelOrder } from '../../orders/close-order';
import { getOrderForOwner } from '../../orders/order-view';
import { ORDER_STATES } from '../../orders/states';
import { waitForOrderChange } from '../../orders/wait-for-change';
import { accessTokenSchema, orderIdSchema } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

const ownerInput = z.object({ orderId: orderIdSchema, accessToken: accessTokenSchema }).strict();

/** The longest wait: under common proxies' idle timeouts (often 30 s or more). */
export const MAX_WAIT_MS = 25_000;

const waitInput = z
  .object({
    orderId: orderIdSchema,
    accessToken: accessTokenSchema,
    /** The order as the caller last saw it: its state and how many history entries it had. */
    seen: z.object({ state: z.enum(ORDER_STATES), historyLength: z.number().int().min(0).max(10_000) }).strict(),
    timeoutMs: z.number().int().min(0).max(MAX_WAIT_MS).default(MAX_WAIT_MS),
    /** Answer only in one of these states, or once none of them can be reached any more (see wait-for-change.ts). */
    until: z.array(z.enum(ORDER_STATES)).min(1).max(ORDER_STATES.length).optional(),
  })
  .strict();

export const ordersRouter = createTRPCRouter({
  get: publicProcedure.input(ownerInput).query(async ({ ctx, input }) => {
    await ctx.runtime();
    return getOrderForOwner(input.orderId, input.accessToken);
  }),
  /**
   * Answers as soon as the order is no longer as `seen` describes: at once if
   * it already moved, else when it does (the new view), or `changed: false`
   * at the timeout; with `until`, only a move into one of those states (or
   * past reaching them) counts; `busy: true` when this process cannot keep
   * more callers waiting (the caller polls a little later). Same owner check
   * as get.
   */
  waitForChange: publicProcedure.input(waitInput).query(async ({ ctx, input, signal }) => {
    const { orderWaiters } = await ctx.runtime();
    return waitForOrderChange(input.orderId, input.accessToken, input.seen, input.timeoutMs, { waiters: orderWaiters, signal }, input.until);
  }),
  /** Cancels an unpaid order; repeating it returns the cancelled order. */
  cancel: publicProcedure.input(ownerInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return cancelOrder(input.orderId, input.accessToken, deps);
  }),
});
