/**
 * Orders, filtered by state, placement time (UTC) and an exact order id or
 * email; a GET form, so every filter is a shareable URL. Pages of 50 in id
 * order (see src/server/admin/orders.ts for why id order and why bounded).
 */
import Link from 'next/link';
import { formatMoney } from '../../../format';
import { ORDER_STATES, type OrderState } from '@/server/orders/states';
import { asOperator, utc } from '../../operator-access';
import { StateBadge } from '../../state-badge';
import { DataTable, numeric } from '../../data-table';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Orders — Operator console' };

type Search = Record<string, string | string[] | undefined>;

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const one = (v: string | string[] | undefined) => list(v)[0]?.trim() || undefined;
/** A datetime-local value (no zone) read as UTC. */
const asUtc = (v: string | undefined) => (v && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v) ? `${v.length === 16 ? `${v}:00` : v}Z` : undefined);

export default async function OrdersPage({ searchParams }: { searchParams: Promise<Search> }) {
  const params = await searchParams;
  const states = list(params.state).filter((s): s is OrderState => (ORDER_STATES as readonly string[]).includes(s));
  const from = one(params.from);
  const to = one(params.to);
  const search = one(params.q);
  const after = one(params.after);
  const page = await asOperator('/admin/orders', (admin) =>
    admin.orders({
      ...(states.length ? { states } : {}),
      ...(asUtc(from) ? { from: asUtc(from) } : {}),
      ...(asUtc(to) ? { to: asUtc(to) } : {}),
      ...(search ? { search: search.slice(0, 254) } : {}),
      ...(after && /^ord_[a-f0-9]{24}$/.test(after) ? { after } : {}),
    }),
  );
  const keep = new URLSearchParams();
  for (const s of states) keep.append('state', s);
  if (from) keep.set('from', from);
  if (to) keep.set('to', to);
  if (search) keep.set('q', search);
  if (page.next) keep.set('after', page.next);

  return (
    <>
      <h1>Orders</h1>
      <form method="get" className="adm-form" aria-label="Filter orders">
        <fieldset className="adm-states">
          <legend>State</legend>
          {ORDER_STATES.map((s) => (
            <label key={s}>
              <input type="checkbox" name="state" value={s} defaultChecked={states.includes(s)} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Placed from (UTC)
          <input type="datetime-local" name="from" defaultValue={from} />
        </label>
        <label>
          Placed before (UTC)
          <input type="datetime-local" name="to" defaultValue={to} />
        </label>
        <label>
          Order id or email
          <input type="search" name="q" defaultValue={search} maxLength={254} placeholder="ord_… or name@example.com" />
        </label>
        <button type="submit">Filter</button>
        <Link href="/admin/orders">Clear filters</Link>
      </form>

      {page.orders.length === 0 ? (
        <p data-testid="orders-empty">No orders match.</p>
      ) : (
        <DataTable label="Orders found" testId="orders-table" columns={['Order', 'State', 'Placed', 'Email', numeric('Total'), 'Attention']}>
          {page.orders.map((o) => (
            <tr key={o.orderId} data-order-id={o.orderId}>
              <td className="adm-mono">
                <Link href={`/admin/orders/${o.orderId}`}>{o.orderId}</Link>
              </td>
              <td>
                <StateBadge state={o.state} />
              </td>
              <td>{utc(o.createdAt)}</td>
              <td>{o.email}</td>
              <td className="adm-num">{formatMoney(o.totalMinor, o.currency)}</td>
              <td>{o.attention.join(', ') || '—'}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <p className="adm-muted">
        Showing {page.orders.length} order{page.orders.length === 1 ? '' : 's'}, in order-id order.{' '}
        {page.next && <Link href={`/admin/orders?${keep.toString()}`}>Next page</Link>}
      </p>
    </>
  );
}
