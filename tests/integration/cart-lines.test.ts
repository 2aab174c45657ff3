/** The cart's own answers: each change returns the cart as it now is, and each refusal names its field. */
import { describe, expect, it } from 'vitest';
import { Cart, Product } from '../../prisma-free-models';
import { createCart } from '../../src/server/cart/cart';
import { api, customer, newKey, seedProduct, suiteOrderLimits, trpcFailure, uniqueSku } from '../helpers';

describe('cart lines', () => {
  it('adds, adds more of, sets and removes a line, answering with the cart each time', async () => {
    const [a, b] = [await seedProduct(10, 10_000), await seedProduct(10, 2_500)];
    const { cartId } = await api().cart.create.mutate();
    const line = (sku: string, qty: number, unitPriceMinor: number): unknown => expect.objectContaining({ sku, qty, unitPriceMinor, lineTotalMinor: qty * unitPriceMinor });

    expect(await api().cart.addLine.mutate({ cartId, sku: a, qty: 1 })).toMatchObject({ cartId, orderId: null, lines: [line(a, 1, 10_000)], totalMinor: 10_000 });
    // The same SKU again: more of the line, not a second line.
    expect(await api().cart.addLine.mutate({ cartId, sku: a, qty: 2 })).toMatchObject({ lines: [line(a, 3, 10_000)], totalMinor: 30_000 });
    expect(await api().cart.addLine.mutate({ cartId, sku: b, qty: 2 })).toMatchObject({ lines: [line(a, 3, 10_000), line(b, 2, 2_500)], totalMinor: 35_000 });
    expect(await api().cart.updateLine.mutate({ cartId, sku: a, qty: 1 })).toMatchObject({ lines: [line(a, 1, 10_000), line(b, 2, 2_500)], totalMinor: 15_000 });
    expect(await api().cart.removeLine.mutate({ cartId, sku: a })).toMatchObject({ lines: [line(b, 2, 2_500)], totalMinor: 5_000 });
    expect(await api().cart.get.query({ cartId })).toMatchObject({ lines: [line(b, 2, 2_500)], totalMinor: 5_000 });
  });

  it('refuses more of a line than the per-product limit, a line it does not have, and a cart that does not exist, changing nothing', async () => {
    const sku = await seedProduct(10);
    const { cartId } = await api().cart.create.mutate();
    const max = suiteOrderLimits.maxQtyPerSku;
    await api().cart.addLine.mutate({ cartId, sku, qty: max });

    const over = await trpcFailure(api().cart.addLine.mutate({ cartId, sku, qty: 1 }));
    expect(over.data).toMatchObject({ domainCode: 'LIMIT_EXCEEDED', field: 'qty' });
    const missing = await trpcFailure(api().cart.updateLine.mutate({ cartId, sku: await seedProduct(1), qty: 1 }));
    expect(missing.data).toMatchObject({ domainCode: 'NOT_FOUND', field: 'sku' });
    const noCart = await trpcFailure(api().cart.removeLine.mutate({ cartId: 'x'.repeat(32), sku }));
    expect(noCart.data).toMatchObject({ domainCode: 'NOT_FOUND', field: 'cartId' });

    expect((await api().cart.get.query({ cartId })).lines).toEqual([expect.objectContaining({ sku, qty: max })]);
  });

  it('creates a cart with its first lines in one call, answering the priced cart, which can be ordered', async () => {
    const [a, b] = [await seedProduct(10, 10_000), await seedProduct(10, 2_500)];
    const created = await api().cart.createWithLines.mutate({ lines: [{ sku: a, qty: 2 }, { sku: b, qty: 1 }] });
    const expected = {
      orderId: null,
      lines: [expect.objectContaining({ sku: a, qty: 2, lineTotalMinor: 20_000 }), expect.objectContaining({ sku: b, qty: 1, lineTotalMinor: 2_500 })],
      totalMinor: 22_500,
    };
    expect(created).toMatchObject(expected);
    expect(await api().cart.get.query({ cartId: created.cartId })).toMatchObject({ cartId: created.cartId, ...expected });
    // Without lines: an empty cart.
    expect(await api().cart.create.mutate()).toMatchObject({ orderId: null, lines: [], totalMinor: 0 });
    const placed = await api(newKey()).checkout.placeOrder.mutate({ cartId: created.cartId, customer });
    expect(placed.state).not.toBe('REJECTED');
  });

  it('refuses a cart created with an unknown, withdrawn or repeated product, or with bad lines, naming the problem and writing nothing', async () => {
    const sku = await seedProduct(10);
    const withdrawn = await seedProduct(10);
    await Product.updateOne({ _id: withdrawn }, { $set: { active: false } });
    const before = await Cart.countDocuments();

    const unknown = uniqueSku('NONE');
    const refusals = [
      { lines: [{ sku, qty: 1 }, { sku: unknown, qty: 1 }], data: { domainCode: 'UNKNOWN_SKU', field: 'sku' }, names: unknown },
      { lines: [{ sku: withdrawn, qty: 1 }], data: { domainCode: 'UNKNOWN_SKU' }, names: withdrawn },
      { lines: [{ sku, qty: 1 }, { sku, qty: 2 }], data: { domainCode: 'VALIDATION', field: 'lines' }, names: sku },
      { lines: [], data: { httpStatus: 400 } },
      { lines: [{ sku, qty: 0 }], data: { httpStatus: 400 } },
      { lines: [{ sku, qty: suiteOrderLimits.maxQtyPerSku + 1 }], data: { httpStatus: 400 } },
      { lines: Array.from({ length: suiteOrderLimits.maxLines + 1 }, (_, i) => ({ sku: `${sku}-${i}`, qty: 1 })), data: { httpStatus: 400 } },
    ];
    for (const { lines, data, names } of refusals as { lines: { sku: string; qty: number }[]; data: object; names?: string }[]) {
      const err = await trpcFailure(api().cart.createWithLines.mutate({ lines }));
      expect(err.data, JSON.stringify(lines).slice(0, 80)).toMatchObject(data);
      if (names) expect(err.message).toContain(names);
      expect(err.data?.httpStatus).toBeLessThan(500);
    }
    expect(await Cart.countDocuments()).toBe(before);
  });

  it('holds a cart created with lines to the shop’s caps, which may be lower than the request’s bounds, writing nothing', async () => {
    const [a, b] = [await seedProduct(10), await seedProduct(10)];
    const policy = { currency: 'inr', limits: { maxQtyPerSku: 2, maxLines: 1 } };
    const before = await Cart.countDocuments();
    const refusal = (lines: { sku: string; qty: number }[]) => createCart(lines, policy).then(() => null, (e: { code?: string; details?: unknown }) => ({ code: e.code, details: e.details }));
    expect(await refusal([{ sku: a, qty: 3 }])).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { field: 'qty', limit: 'qty-per-sku' } });
    expect(await refusal([{ sku: a, qty: 1 }, { sku: b, qty: 1 }])).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { field: 'lines', limit: 'lines' } });
    expect(await Cart.countDocuments()).toBe(before);
    expect((await createCart([{ sku: a, qty: 2 }], policy)).lines).toEqual([expect.objectContaining({ sku: a, qty: 2 })]);
  });
});
