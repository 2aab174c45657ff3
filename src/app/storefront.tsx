'use client';
/** Catalogue, cart and checkout in one page; the cart id lives in localStorage. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/api/root';
import { useTRPC } from '../trpc/react';
import { formatMoney } from './format';

const CART_KEY = 'cartId';
type CartView = inferRouterOutputs<AppRouter>['cart']['get'];
type StockLabel = inferRouterOutputs<AppRouter>['catalog']['list'][number]['stock'];

const STOCK_TEXT: Record<StockLabel, string> = { 'in-stock': 'In stock', 'few-left': 'Only a few left', 'sold-out': 'Sold out' };

export function Storefront() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [cartId, setCartId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // One key per checkout attempt: a double click or a retry reuses it.
  const [checkoutKey] = useState(() => crypto.randomUUID());

  const catalog = useQuery(trpc.catalog.list.queryOptions());
  const createCart = useMutation(trpc.cart.create.mutationOptions());
  const cart = useQuery({ ...trpc.cart.get.queryOptions({ cartId: cartId ?? '' }), enabled: cartId !== null });
  // A cart mutation answers with the whole cart: store that answer as the
  // cart. A read still in flight (the cart's very first load races the first
  // add) is cancelled first, or its older, empty answer would land on top.
  const onCartChange = {
    onSuccess: async (view: CartView) => {
      const queryKey = trpc.cart.get.queryKey({ cartId: view.cartId });
      await queryClient.cancelQueries({ queryKey });
      queryClient.setQueryData(queryKey, view);
    },
    onError: (e: { message: string }) => setError(e.message),
  };
  const addLine = useMutation(trpc.cart.addLine.mutationOptions(onCartChange));
  const removeLine = useMutation(trpc.cart.removeLine.mutationOptions(onCartChange));
  const placeOrder = useMutation(
    trpc.checkout.placeOrder.mutationOptions({
      onSuccess: (o) => {
        localStorage.removeItem(CART_KEY);
        router.push(`/orders/${o.orderId}?token=${encodeURIComponent(o.accessToken)}`);
      },
      onError: (e) => setError(e.message),
    }),
  );

  useEffect(() => setCartId(localStorage.getItem(CART_KEY)), []);
  // A cart that already became an order (placed from another tab) cannot
  // change or be ordered again: forget it, the next add starts a new one.
  useEffect(() => {
    if (cart.data?.orderId) {
      localStorage.removeItem(CART_KEY);
      setCartId(null);
    }
  }, [cart.data?.orderId]);

  async function ensureCart(): Promise<string> {
    if (cartId) return cartId;
    const { cartId: id } = await createCart.mutateAsync();
    localStorage.setItem(CART_KEY, id);
    setCartId(id);
    return id;
  }

  function checkout(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!cartId) return;
    const f = new FormData(e.currentTarget);
    const v = (k: string) => { const x = f.get(k); return typeof x === 'string' ? x : ''; };
    setError(null);
    placeOrder.mutate({
      cartId,
      idempotencyKey: checkoutKey,
      customer: {
        name: v('name'),
        email: v('email'),
        address: { line1: v('line1'), city: v('city'), state: v('state'), postalCode: v('postalCode'), country: v('country') },
      },
    });
  }

  return (
    <>
      {error && <p role="alert" style={{ color: 'crimson' }}>{error}</p>}
      <section>
        <h2>Catalogue</h2>
        {catalog.isLoading && <p>Loading…</p>}
        <ul>
          {catalog.data?.map((p) => (
            <li key={p.sku} data-sku={p.sku}>
              <strong>{p.name}</strong> {formatMoney(p.priceMinor, p.currency)} —{' '}
              <span data-testid="stock">{STOCK_TEXT[p.stock]}</span>{' '}
              <button
                disabled={p.stock === 'sold-out' || addLine.isPending}
                onClick={() => void ensureCart().then((id) => addLine.mutate({ cartId: id, sku: p.sku, qty: 1 }))}
              >
                Add to cart
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Cart</h2>
        {!cart.data || cart.data.orderId || cart.data.lines.length === 0 ? (
          <p>Your cart is empty.</p>
        ) : (
          <>
            <ul>
              {cart.data.lines.map((l) => (
                <li key={l.sku}>
                  {l.qty} × {l.name} = {formatMoney(l.lineTotalMinor, cart.data.currency)}{' '}
                  <button onClick={() => cartId && removeLine.mutate({ cartId, sku: l.sku })}>Remove</button>
                </li>
              ))}
            </ul>
            <p>
              Total: <strong data-testid="cart-total">{formatMoney(cart.data.totalMinor, cart.data.currency)}</strong>
            </p>
            <form onSubmit={checkout} style={{ display: 'grid', gap: 6, maxWidth: 360 }}>
              <input name="name" placeholder="Full name" required maxLength={120} />
              <input name="email" type="email" placeholder="Email" required maxLength={254} />
              <input name="line1" placeholder="Address" required maxLength={200} />
              <input name="city" placeholder="City" required maxLength={100} />
              <input name="state" placeholder="State" required maxLength={100} />
              <input name="postalCode" placeholder="PIN code" required maxLength={12} />
              <input name="country" placeholder="Country (IN)" defaultValue="IN" required maxLength={2} />
              <button type="submit" disabled={placeOrder.isPending}>
                Place order
              </button>
            </form>
          </>
        )}
      </section>
    </>
  );
}
