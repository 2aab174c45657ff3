'use client';
/** The products, each with its price, what is left and an "Add to cart" button. */
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/api/root';
import { formatMoney } from '../format';

type CatalogItem = inferRouterOutputs<AppRouter>['catalog']['list'][number];

export function Catalogue({
  items,
  loading,
  busy,
  onAdd,
}: {
  items: CatalogItem[] | undefined;
  loading: boolean;
  busy: boolean;
  onAdd: (sku: string) => void;
}) {
  return (
    <section aria-labelledby="catalogue-heading" className="panel">
      <h2 id="catalogue-heading">Catalogue</h2>
      {loading && <p role="status">Loading the catalogue…</p>}
      <ul className="products">
        {items?.map((p) => (
          <li key={p.sku} data-sku={p.sku} className="product">
            <h3 className="product-name">{p.name}</h3>
            {p.description && <p className="product-description">{p.description}</p>}
            <p className="product-price">{formatMoney(p.priceMinor, p.currency)}</p>
            <p className={p.available === 0 ? 'stock stock-out' : 'stock'}>{p.available === 0 ? 'Sold out' : `${p.available} left`}</p>
            {/* The visible words start the accessible name (WCAG 2.5.3, label in name); the product ends it. */}
            <button type="button" className="button" disabled={p.available === 0 || busy} onClick={() => onAdd(p.sku)}>
              Add to cart<span className="visually-hidden">: {p.name}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
