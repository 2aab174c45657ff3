/**
 * The operator console's procedures. Every one is an adminProcedure: without
 * a signed-in operator's session cookie it answers 401 before reading its
 * input. Each calls one domain function (src/server/admin/, the refund in
 * src/server/orders/refund-mismatch.ts) and returns what it returns.
 */
import { listAttention } from '../../admin/attention';
import { addStockInput, createProductInput, orderIdInput, orderListInput, stockListInput } from '../../admin/inputs';
import { getOrderDetail, listOrders } from '../../admin/orders';
import { addStock, createProduct, listStock } from '../../admin/stock';
import { refundMismatchedPayment } from '../../orders/refund-mismatch';
import { adminProcedure, createTRPCRouter } from '../trpc';

const date = (iso: string | undefined) => (iso ? new Date(iso) : undefined);

export const adminRouter = createTRPCRouter({
  /** Stuck orders and events, flagged orders, payment mismatches, failed jobs. */
  attention: adminProcedure.query(async ({ ctx }) => {
    const { config, queues } = await ctx.runtime();
    return listAttention({ queues: queues.queues, stuckAfterMs: config.STUCK_AFTER_MS });
  }),
  orders: adminProcedure.input(orderListInput.optional()).query(async ({ ctx, input = {} }) => {
    await ctx.runtime();
    return listOrders({ ...input, from: date(input.from), to: date(input.to) });
  }),
  order: adminProcedure.input(orderIdInput).query(async ({ ctx, input }) => {
    await ctx.runtime();
    return getOrderDetail(input.orderId);
  }),
  /** Refunds a PAYMENT_MISMATCH order in full; repeating it returns the same refund. */
  refundMismatch: adminProcedure.input(orderIdInput).mutation(async ({ ctx, input }) => {
    const { deps } = await ctx.runtime();
    return refundMismatchedPayment(input.orderId, deps);
  }),
  stock: adminProcedure.input(stockListInput.optional()).query(async ({ ctx, input }) => {
    const { config } = await ctx.runtime();
    return listStock({ ...input, stuckAfterMs: config.STUCK_AFTER_MS });
  }),
  addStock: adminProcedure.input(addStockInput).mutation(async ({ ctx, input }) => {
    await ctx.runtime();
    return addStock(input.sku, input.qty, input.requestKey);
  }),
  createProduct: adminProcedure.input(createProductInput).mutation(async ({ ctx, input }) => {
    const { config } = await ctx.runtime();
    return createProduct(input, config.CURRENCY);
  }),
});
