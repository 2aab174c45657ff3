import { DomainError } from '../../errors';
import { placeOrder } from '../../orders/place-order';
import { idempotencyKeySchema, placeOrderInput } from '../../validation';
import { createTRPCRouter, publicProcedure } from '../trpc';

/** The key from the Idempotency-Key header or the input; both given must agree. */
function resolveIdempotencyKey(header: string | null, fromInput: string | undefined): string {
  if (header !== null) {
    const parsed = idempotencyKeySchema.safeParse(header);
    if (!parsed.success) {
      throw new DomainError('VALIDATION', parsed.error.issues[0]?.message ?? 'Idempotency-Key is malformed', { field: 'idempotencyKey' });
    }
    if (fromInput !== undefined && fromInput !== parsed.data) {
      throw new DomainError('VALIDATION', 'The Idempotency-Key header and input.idempotencyKey differ', { field: 'idempotencyKey' });
    }
    return parsed.data;
  }
  if (fromInput !== undefined) return fromInput;
  throw new DomainError('IDEMPOTENCY_KEY_REQUIRED', 'An Idempotency-Key (header or input.idempotencyKey) is required', {
    field: 'idempotencyKey',
  });
}

export const checkoutRouter = createTRPCRouter({
  placeOrder: publicProcedure.input(placeOrderInput).mutation(async ({ ctx, input }) => {
    const idempotencyKey = resolveIdempotencyKey(ctx.headers.get('idempotency-key'), input.idempotencyKey);
    const { deps } = await ctx.runtime();
    const placed = await placeOrder({ ...input, idempotencyKey }, deps);
    return { orderId: placed.orderId, accessToken: placed.accessToken, state: placed.state, replayed: placed.outcome === 'replayed', payment: placed.payment };
  }),
});
