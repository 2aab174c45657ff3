/**
 * Stock per SKU: the product's counters, the holds in flight and whose they
 * are, and the invariant auditor's verdict on the SKU; add stock; create a product.
 */
import Link from 'next/link';
import { formatMoney } from '../../../format';
import { getConfig } from '@/server/config';
import { asOperator, utc } from '../../operator-access';
import { StateBadge } from '../../state-badge';
import { AddStockForm, CreateProductForm } from '../../stock-forms';
import { DataTable, numeric } from '../../data-table';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Stock — Operator console' };

const SKU = /^[A-Z0-9][A-Z0-9-]{1,63}$/;
/** The stock equation's terms, in the order of the table's columns. */
const FIGURES = ['initialStock', 'available', 'reserved', 'sold'] as const;

export default async function StockPage({ searchParams }: { searchParams: Promise<{ sku?: string; after?: string }> }) {
  const { sku, after } = await searchParams;
  const page = await asOperator('/admin/stock', (admin) =>
    admin.stock({ ...(sku && SKU.test(sku) ? { sku } : {}), ...(!sku && after && SKU.test(after) ? { after } : {}) }),
  );
  return (
    <>
      <h1>Stock</h1>
      <p className="adm-muted">
        Always initial = available + reserved + sold. “Audit” is the invariant auditor’s verdict on the SKU (the same checks as <code>npm run invariants</code>).
      </p>
      <form method="get" className="adm-form" aria-label="Find a SKU">
        <label>
          SKU
          <input name="sku" defaultValue={sku} maxLength={64} />
        </label>
        <button type="submit">Show</button>
        {sku && <Link href="/admin/stock">All SKUs</Link>}
      </form>

      <DataTable label="Stock per SKU" testId="stock-table" columns={['SKU', 'Name', numeric('Initial'), numeric('Available'), numeric('Reserved'), numeric('Sold'), 'Audit']}>
        {page.products.map((p) => (
          <tr key={p.sku} data-sku={p.sku}>
            <td className="adm-mono">{p.sku}</td>
            <td>
              {p.name}
              <br />
              <span className="adm-muted">
                {formatMoney(p.priceMinor, p.currency)}
                {p.active ? '' : ' · withdrawn'}
              </span>
            </td>
            {FIGURES.map((field) => (
              <td key={field} className="adm-num" data-field={field}>
                {p[field]}
              </td>
            ))}
            <td data-field="audit">
              {p.violations.length === 0 ? (
                <span className="adm-ok">OK</span>
              ) : (
                <ul className="adm-bad">
                  {p.violations.map((v, i) => (
                    <li key={i} data-check={v.check}>
                      {v.check}: {v.message}
                    </li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      {page.products.length === 0 && <p>No products.</p>}
      {page.next && (
        <p>
          <Link href={`/admin/stock?after=${encodeURIComponent(page.next)}`}>Next page</Link>
        </p>
      )}

      <h2>Holds in flight and stock changes</h2>
      {page.products.map((p) => (
        <details key={p.sku} data-holds-for={p.sku}>
          <summary>
            {p.sku}: {p.holds.length} hold{p.holds.length === 1 ? '' : 's'} ({p.reserved} reserved){p.pendingSales.length ? `, ${p.pendingSales.length} sale(s) being recorded` : ''}
          </summary>
          {p.holds.length > 0 && (
            <ul>
              {p.holds.map((h) => (
                <li key={`${h.orderId}/${h.ref}`}>
                  {h.qty} for <Link href={`/admin/orders/${h.orderId}`}>{h.orderId}</Link> {h.orderState ? <StateBadge state={h.orderState} /> : <span className="adm-bad">no such order</span>} (ref {h.ref}, since {utc(h.at)})
                </li>
              ))}
            </ul>
          )}
          {p.restocks.length > 0 && <p className="adm-muted">Restocked: {p.restocks.map((r) => `+${r.qty} (${utc(r.at)})`).join(', ')}</p>}
          <AddStockForm sku={p.sku} />
        </details>
      ))}

      <h2>Create a product</h2>
      <CreateProductForm currency={getConfig().CURRENCY} />
    </>
  );
}
