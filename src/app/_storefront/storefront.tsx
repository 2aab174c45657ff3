'use client';
/** Catalogue, cart and checkout on one page; the cart id lives in localStorage. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { useCallback, useEffect, useState } from 'react';
import type { AppRouter } from '../../server/api/root';
import { useTRPC } from '../../trpc/react';
import { CartLines } from './cart-lines';
import { Catalogue } from './catalogue';
import { CheckoutForm } from './checkout-form';
import { useCheckout } from './use-checkout';

const CART_KEY = 'cartId';
type CartView = inferRouterOutputs<AppRouter>['cart']['get'];

export function Storefront() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [cartId, setCartId] = useState<string | null>(null);
  const [cartError, setCartError] = useState<string | null>(null);

  const catalog = useQuery(trpc.catalog.list.queryOptions());
  const createCart = useMutation(trpc.cart.createWithLines.mutationOptions());
  const cart = useQuery({ ...trpc.cart.get.queryOptions({ cartId: cartId ?? '' }), enabled: cartId !== null, retry: false });
  // A cart mutation answers with the whole cart: store that answer as the
  // cart. A read still in flight (the cart's very first load races the first
  // add) is cancelled first, or its older, empty answer would land on top.
  const onCartChange = {
    onSuccess: async (view: CartView) => {
      setCartError(null);
      const queryKey = trpc.cart.get.queryKey({ cartId: view.cartId });
      await queryClient.cancelQueries({ queryKey });
      queryClient.setQueryData(queryKey, view);
    },
    onError: (e: { message: string }) => setCartError(e.message),
  };
  const addLine = useMutation(trpc.cart.addLine.mutationOptions(onCartChange));
  const updateLine = useMutation(trpc.cart.updateLine.mutationOptions(onCartChange));
  const removeLine = useMutation(trpc.cart.removeLine.mutationOptions(onCartChange));

  const forgetCart = useCallback(() => localStorage.removeItem(CART_KEY), []);
  const checkout = useCheckout(forgetCart);

  useEffect(() => setCartId(localStorage.getItem(CART_KEY)), []);
  // A cart the server no longer knows: start a new one on the next add.
  useEffect(() => {
    if (cart.error?.data?.code === 'NOT_FOUND') {
      localStorage.removeItem(CART_KEY);
      setCartId(null);
    }
  }, [cart.error]);
  // A cart that already became an order (placed from another tab) cannot
  // change or be ordered again: forget it, the next add starts a new one.
  useEffect(() => {
    if (cart.data?.orderId) {
      localStorage.removeItem(CART_KEY);
      setCartId(null);
    }
  }, [cart.data?.orderId]);

  /** Adds one unit; the first add creates the cart with its line, in one call. */
  function add(sku: string): void {
    if (cartId) {
      addLine.mutate({ cartId, sku, qty: 1 });
      return;
    }
    createCart.mutate(
      { lines: [{ sku, qty: 1 }] },
      {
        onSuccess: (view) => {
          localStorage.setItem(CART_KEY, view.cartId);
          setCartId(view.cartId);
          void onCartChange.onSuccess(view);
        },
        onError: onCartChange.onError,
      },
    );
  }

  const cartBusy = addLine.isPending || updateLine.isPending || removeLine.isPending || checkout.pending;
  const lines = cart.data?.lines ?? [];
  const stock = (sku: string) => catalog.data?.find((p) => p.sku === sku)?.stock;

  return (
    <div className="storefront">
      <Catalogue
        items={catalog.data}
        loading={catalog.isLoading}
        busy={cartBusy || createCart.isPending}
        onAdd={add}
      />
      <section aria-labelledby="cart-heading" className="panel cart">
        <h2 id="cart-heading">Your cart</h2>
        {cartError && (
          <p role="alert" className="error">
            {cartError}
          </p>
        )}
        {lines.length === 0 || !cart.data || cart.data.orderId || !cartId ? (
          checkout.resuming ? (
            <p role="status">Finishing the order you placed before the page reloaded (it will not be placed twice)…</p>
          ) : (
            <p>Your cart is empty.</p>
          )
        ) : (
          <>
            <CartLines
              lines={lines}
              currency={cart.data.currency}
              totalMinor={cart.data.totalMinor}
              stock={stock}
              busy={cartBusy}
              onSetQty={(sku, qty) => updateLine.mutate({ cartId, sku, qty })}
              onRemove={(sku) => removeLine.mutate({ cartId, sku })}
            />
            <CheckoutForm
              errors={checkout.errors}
              pending={checkout.pending}
              resuming={checkout.resuming}
              savedCustomer={checkout.savedCustomer}
              onSubmit={(customer) => checkout.submit(cartId, customer)}
            />
          </>
        )}
      </section>
    </div>
  );
}
