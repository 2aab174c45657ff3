'use client';
/** The products, each with its price, a stock label (not the count) and an "Add to cart" button. */
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/api/root';
import { formatMoney } from '../format';

type CatalogItem = inferRouterOutputs<AppRouter>['catalog']['list'][number];

const STOCK_TEXT: Record<CatalogItem['stock'], string> = { 'in-stock': 'In stock', 'few-left': 'Only a few left', 'sold-out': 'Sold out' };

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
            <p className={p.stock === 'sold-out' ? 'stock stock-out' : 'stock'} data-testid="stock">
              {STOCK_TEXT[p.stock]}
            </p>
            {/* The visible words start the accessible name (WCAG 2.5.3, label in name); the product ends it. */}
            <button type="button" className="button" disabled={p.stock === 'sold-out' || busy} onClick={() => onAdd(p.sku)}>
              Add to cart<span className="visually-hidden">: {p.name}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
