/**
 * Server-side carts. The cart id is an unguessable capability; every change
 * is one atomic update of the cart document, so concurrent edits from two tabs
 * never lose a line or exceed the limits.
 */
import { Cart, type CartDoc } from '../../../prisma-free-models/cart';
import { Product } from '../../../prisma-free-models/product';
import { priceLines, type PricedLines } from '../catalog/pricing';
import { DomainError } from '../errors';
import { newCartId } from '../ids';
import { LIMITS } from '../validation';

export interface CartView extends PricedLines {
  cartId: string;
}

async function loadCart(cartId: string): Promise<CartDoc> {
  const cart = await Cart.findById(cartId).lean<CartDoc>();
  if (!cart) throw new DomainError('NOT_FOUND', 'Cart not found', { field: 'cartId' });
  return cart;
}

export async function createCart(): Promise<{ cartId: string }> {
  const cart = await Cart.create({ _id: newCartId(), lines: [] });
  return { cartId: cart._id };
}

export async function getCart(cartId: string, currency: string): Promise<CartView> {
  const cart = await loadCart(cartId);
  return { cartId, ...(await priceLines(cart.lines, currency)) };
}

async function assertSellable(sku: string): Promise<void> {
  const exists = await Product.exists({ _id: sku, active: true });
  if (!exists) throw new DomainError('UNKNOWN_SKU', `Unknown or withdrawn product ${sku}`, { field: 'sku', sku });
}

/** Adds qty of a SKU: a new line, or more of an existing one (up to the per-line limit). */
export async function addCartLine(cartId: string, sku: string, qty: number, currency: string): Promise<CartView> {
  await assertSellable(sku);
  // A new line, only while the SKU is absent and the cart has room.
  const pushed = await Cart.updateOne(
    { _id: cartId, 'lines.sku': { $ne: sku }, [`lines.${LIMITS.maxLines - 1}`]: { $exists: false } },
    { $push: { lines: { sku, qty } } },
  );
  if (pushed.modifiedCount === 0) {
    // More of an existing line, only while the result stays within the limit.
    const bumped = await Cart.updateOne(
      { _id: cartId, lines: { $elemMatch: { sku, qty: { $lte: LIMITS.maxQty - qty } } } },
      // arrayFilters, not the positional `$`: mongo-java-server cannot combine
      // `$` with an $elemMatch filter; both are atomic on MongoDB.
      { $inc: { 'lines.$[line].qty': qty } },
      { arrayFilters: [{ 'line.sku': sku }] },
    );
    if (bumped.modifiedCount === 0) {
      const cart = await loadCart(cartId);
      if (cart.lines.some((l) => l.sku === sku)) {
        throw new DomainError('LIMIT_EXCEEDED', `At most ${LIMITS.maxQty} of one product per order`, { field: 'qty' });
      }
      throw new DomainError('LIMIT_EXCEEDED', `A cart holds at most ${LIMITS.maxLines} lines`, { field: 'sku' });
    }
  }
  return getCart(cartId, currency);
}

export async function setCartLineQty(cartId: string, sku: string, qty: number, currency: string): Promise<CartView> {
  const res = await Cart.updateOne({ _id: cartId, 'lines.sku': sku }, { $set: { 'lines.$.qty': qty } });
  if (res.matchedCount === 0) {
    await loadCart(cartId);
    throw new DomainError('NOT_FOUND', `The cart has no line for ${sku}`, { field: 'sku' });
  }
  return getCart(cartId, currency);
}

export async function removeCartLine(cartId: string, sku: string, currency: string): Promise<CartView> {
  const res = await Cart.updateOne({ _id: cartId }, { $pull: { lines: { sku } } });
  if (res.matchedCount === 0) throw new DomainError('NOT_FOUND', 'Cart not found', { field: 'cartId' });
  return getCart(cartId, currency);
}

/** The cart's lines, for placing an order. */
export async function cartLines(cartId: string): Promise<{ sku: string; qty: number }[]> {
  const cart = await loadCart(cartId);
  return cart.lines.map((l) => ({ sku: l.sku, qty: l.qty }));
}
