/**
 * insertValidated stores what Model.create stores: the same document for an
 * order (as placed, and as rejected at placement), a cart and a webhook
 * event; it refuses what create refuses, writing nothing; a duplicate key
 * fails as create's does; and the insert passes the operation gate.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Cart, Order, WebhookEvent } from '../../prisma-free-models';
import { insertValidated } from '../../prisma-free-models/insert-validated';
import { setOperationGate } from '../../prisma-free-models/operation-gate';
import { isDuplicateKeyError } from '../../src/server/errors';
import { initialStateFields } from '../../src/server/orders/state-machine';
import { customer, operationsOf } from '../helpers';

afterEach(() => setOperationGate(undefined));

type Stored = Record<string, unknown>;
/** The stored document without what differs by design between two inserts: the id, and the time of the insert. */
const comparable = ({ _id, createdAt, updatedAt, ...rest }: Stored) => ({
  _id: typeof _id,
  timestamps: createdAt instanceof Date && updatedAt instanceof Date && createdAt.getTime() === updatedAt.getTime() ? 'set' : { createdAt, updatedAt },
  ...rest,
});

async function bothWays(model: typeof Order | typeof Cart | typeof WebhookEvent, fields: (id: string) => Record<string, unknown>): Promise<[Stored, Stored]> {
  const [a, b] = [`iv-${randomUUID()}`, `iv-${randomUUID()}`];
  await (model as typeof Cart).create(fields(a));
  await insertValidated(model as typeof Cart, fields(b));
  const read = (id: string) => model.collection.findOne({ _id: id as never }) as Promise<Stored>;
  // The second as if written under the first's id (unique keys are made from it).
  const asA = JSON.parse(JSON.stringify(await read(b)).replaceAll(b, a), (k, v: unknown) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v) : v)) as Stored;
  return [comparable(await read(a)), comparable(asA)];
}

const at = new Date('2026-01-02T03:04:05Z');
const orderFields = (id: string) => ({
  _id: id,
  accessToken: 'a'.repeat(43),
  idempotencyKey: `key-${id}`,
  cartId: `cart-${id}`,
  requestHash: 'h'.repeat(64),
  // Numbers as strings and an extra property: cast and dropped as create does.
  lines: [{ sku: 'SKU-1', name: 'One', unitPriceMinor: '1500', qty: '2', lineTotalMinor: 3000, note: 'not in the schema' }],
  currency: 'inr',
  totalMinor: 3000,
  customer,
  notInTheSchema: true,
  ...initialStateFields('place-order', at),
});

describe('insertValidated', () => {
  it('stores an order as create does', async () => {
    const [created, inserted] = await bothWays(Order, orderFields);
    expect(inserted).toEqual(created);
    expect(inserted).toMatchObject({ timestamps: 'set', holdRef: 'r1', paymentEvents: [], state: 'CREATED', history: [expect.objectContaining({ from: null })] });
    expect(inserted).not.toHaveProperty('notInTheSchema');
  });

  it('stores a rejected order, a cart and a webhook event as create does', async () => {
    const rejected = (id: string) => ({ ...orderFields(id), state: 'REJECTED', rejection: { reason: 'OUT_OF_STOCK', sku: 'SKU-1' } });
    const [createdOrder, insertedOrder] = await bothWays(Order, rejected);
    expect(insertedOrder).toEqual(createdOrder);

    const [createdCart, insertedCart] = await bothWays(Cart, (id) => ({ _id: id, lines: [] }));
    expect(insertedCart).toEqual(createdCart);

    const event = (id: string) => ({ _id: id, type: 'payment_intent.succeeded', objectId: 'pi_1', orderId: 'ord_1', payload: '{"id":"x"}', receivedAt: at });
    const [createdEvent, insertedEvent] = await bothWays(WebhookEvent, event);
    expect(insertedEvent).toEqual(createdEvent);
  });

  it('refuses what create refuses and writes nothing', async () => {
    for (const bad of [{ state: 'NOT-A-STATE' }, { totalMinor: 'lots' }, { accessToken: undefined }] as Record<string, unknown>[]) {
      const id = `iv-${randomUUID()}`;
      await expect(Order.create({ ...orderFields(id), ...bad } as never)).rejects.toMatchObject({ name: 'ValidationError' });
      await expect(insertValidated(Order, { ...orderFields(id), ...bad })).rejects.toMatchObject({ name: 'ValidationError' });
      expect(await Order.collection.countDocuments({ _id: id as never })).toBe(0);
    }
  });

  it('fails on a duplicate key as create does, and passes the operation gate', async () => {
    const id = `iv-${randomUUID()}`;
    const ops = await operationsOf(() => insertValidated(Order, orderFields(id)));
    expect(ops).toEqual([expect.objectContaining({ model: 'Order', op: 'insert', filter: { _id: id } })]);
    const again = await insertValidated(Order, orderFields(id)).catch((err: unknown) => err);
    expect(isDuplicateKeyError(again)).toBe(true);
  });
});
