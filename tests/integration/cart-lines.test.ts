/** The cart's own answers: each change returns the cart as it now is, and each refusal names its field. */
import { describe, expect, it } from 'vitest';
import { api, seedProduct, suiteOrderLimits, trpcFailure } from '../helpers';

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
});
