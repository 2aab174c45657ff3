/**
 * placeOrder reserves the order it has just written (deps.reserveAtPlacement,
 * as the web app runs it), so the answer carries the decision; the
 * reservation job is left for what that attempt could not finish. The
 * reservation itself is the job's step: its interleavings are the
 * scheduler's (placeOrder reserving at placement, tests/scheduler/).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Product } from '../../prisma-free-models';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { jobIds } from '../../src/server/queue/queues';
import { placeOrder } from '../../src/server/orders/place-order';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import { api, cartWith, customer, expectNoViolations, getOrder, manualDeps, newKey, seedProduct, stockOf } from '../helpers';

const m = manualDeps();
const deps = { ...m.deps, reserveAtPlacement: true };
afterAll(async () => {
  setOperationGate(undefined);
  await m.close();
});

const reserveJob = (orderId: string) => m.queues.queues.reservation.getJob(jobIds.reserve(orderId));

describe('placeOrder reserving at placement', () => {
  it('answers INVENTORY_RESERVED with the stock held, no reservation job, and the payment request queued', async () => {
    const sku = await seedProduct(3);
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 2 }]), customer, idempotencyKey: newKey() }, deps);

    expect(placed).toMatchObject({ state: 'INVENTORY_RESERVED', outcome: 'created' });
    const order = await getOrder(placed.orderId);
    expect(order.history.map((h) => h.to)).toEqual(['CREATED', 'INVENTORY_RESERVED']);
    expect(order.holdExpiresAt).toBeInstanceOf(Date);
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 2 });
    expect(await reserveJob(placed.orderId)).toBeUndefined();
    expect(await m.queues.queues.payment.getJob(jobIds.requestPayment(placed.orderId))).toBeDefined();
    expect(await m.queues.queues.expiry.getJob(jobIds.expire(placed.orderId))).toBeDefined();
    await expectNoViolations({ orderIds: [placed.orderId], skus: [sku] });
  });

  it('answers REJECTED when another order takes the last unit between the stock read and the reservation, holding nothing', async () => {
    const sku = await seedProduct(1);
    // The order is written (the stock read saw the unit); a rival's hold takes it before the reservation.
    const rival = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    setOperationGate(async (op) => {
      if (op.model === 'Order' && op.op === 'insert') {
        setOperationGate(undefined);
        expect(await reserveOrder(rival.orderId, m.deps)).toBe('applied');
      }
    });
    const placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, deps);

    expect(placed.state).toBe('REJECTED');
    const order = await getOrder(placed.orderId);
    expect(order.rejection).toMatchObject({ reason: 'OUT_OF_STOCK', sku });
    expect(order.pendingRelease ?? null).toBeNull();
    expect(await stockOf(sku)).toMatchObject({ available: 0, reserved: 1, holds: [expect.objectContaining({ orderId: rival.orderId })] });
    expect(await reserveJob(placed.orderId)).toBeUndefined();
    await expectNoViolations({ orderIds: [placed.orderId, rival.orderId], skus: [sku] });
  });

  it('hands the order to the reservation job when the reservation at placement fails, and the job reserves it', async () => {
    const sku = await seedProduct(2);
    let failed = 0;
    setOperationGate((op) => {
      if (op.model === 'Product' && op.op === 'updateOne' && failed === 0) {
        failed += 1;
        throw new Error('connection reset while holding stock');
      }
    });
    let placed: Awaited<ReturnType<typeof placeOrder>>;
    try {
      placed = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, deps);
    } finally {
      setOperationGate(undefined);
    }

    expect(failed).toBe(1);
    expect(placed.state).toBe('CREATED');
    expect(await reserveJob(placed.orderId)).toBeDefined();
    expect(await reserveOrder(placed.orderId, m.deps)).toBe('applied');
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 1 });
    await expectNoViolations({ orderIds: [placed.orderId], skus: [sku] });
  });

  it('a replay answers the order as it now is, without reserving again', async () => {
    const sku = await seedProduct(2);
    const input = { cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() };
    const first = await placeOrder(input, deps);
    const again = await placeOrder(input, deps);
    expect(again).toMatchObject({ orderId: first.orderId, state: 'INVENTORY_RESERVED', outcome: 'replayed' });
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 1 });
  });

  it('through the API: the checkout answers with the decision (held, and asked to pay: payment-at-placement.test.ts)', async () => {
    const sku = await seedProduct(1);
    const { cartId } = await api().cart.create.mutate();
    await api().cart.addLine.mutate({ cartId, sku, qty: 1 });
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId, customer });
    expect(placed.state).toBe('PAYMENT_PENDING');
    // The stock is gone now: the next buyer hears so in the answer too.
    const other = await api().cart.create.mutate();
    await api().cart.addLine.mutate({ cartId: other.cartId, sku, qty: 1 });
    expect((await api(newKey()).checkout.placeOrder.mutate({ cartId: other.cartId, customer })).state).toBe('REJECTED');
    expect(await Product.countDocuments({ _id: sku })).toBe(1);
  });
});
