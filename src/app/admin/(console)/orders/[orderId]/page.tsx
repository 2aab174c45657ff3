/** One order, all of it: state, customer, payment and refund, attention flags, stock, history, webhook events. */
import Link from 'next/link';
import { formatMoney } from '../../../../format';
import { asOperator, utc } from '../../../operator-access';
import { RefundButton } from '../../../refund-button';
import { StateBadge } from '../../../state-badge';
import { DataTable, numeric } from '../../../data-table';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Order — Operator console' };

export default async function OrderPage({ params }: { params: Promise<{ orderId: string }> }) {
  const { orderId } = await params;
  if (!/^ord_[a-f0-9]{24}$/.test(orderId)) return <p role="alert">That is not an order id.</p>;
  const o = await asOperator(`/admin/orders/${orderId}`, (admin) => admin.order({ orderId }));
  const money = (minor: number | null, currency: string | null = o.currency) => (minor === null ? '—' : formatMoney(minor, currency ?? o.currency));

  return (
    <>
      <p>
        <Link href="/admin/orders">← Orders</Link>
      </p>
      <h1>
        Order <span className="adm-mono">{o.orderId}</span>
      </h1>
      <p>
        <StateBadge state={o.state} /> <span data-testid="order-state">{o.state}</span> since {utc(o.stateChangedAt)}
      </p>

      {o.attentionFlags.length > 0 && (
        <section aria-labelledby="flags">
          <h2 id="flags">Needs attention</h2>
          <ul>
            {o.attentionFlags.map((f) => (
              <li key={f.reason} className="adm-alert">
                <strong>{f.reason}</strong> ({utc(f.at)}){f.detail ? `: ${f.detail}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}

      {o.refundable && (
        <section aria-labelledby="mismatch" className="adm-alert">
          <h2 id="mismatch">Payment mismatch</h2>
          <p>
            Received {money(o.payment.amountReceived, o.payment.currency)} for an order of {money(o.totalMinor)}. The order is never marked paid and its stock
            was released; refunding gives the money back in full.
          </p>
          <RefundButton orderId={o.orderId} amount={money(o.payment.amountReceived, o.payment.currency)} />
        </section>
      )}

      <div className="adm-grid">
        <section aria-labelledby="summary">
          <h2 id="summary">Order</h2>
          <dl className="adm-dl">
            <dt>Placed</dt>
            <dd>{utc(o.createdAt)}</dd>
            <dt>Total</dt>
            <dd>{money(o.totalMinor)}</dd>
            <dt>Hold</dt>
            <dd>
              ref {o.holdRef}, until {utc(o.holdExpiresAt)}
            </dd>
            {o.rejection && (
              <>
                <dt>Rejected</dt>
                <dd>
                  {o.rejection.reason}
                  {o.rejection.sku ? ` (${o.rejection.sku})` : ''}
                </dd>
              </>
            )}
            {o.closeReason && (
              <>
                <dt>Closed</dt>
                <dd>{o.closeReason}</dd>
              </>
            )}
            {o.lateDecision && (
              <>
                <dt>Late payment</dt>
                <dd>{o.lateDecision}</dd>
              </>
            )}
            <dt>Pending work</dt>
            <dd>{o.pendingWork.join('; ') || 'none'}</dd>
            <dt>Reconciled</dt>
            <dd>{utc(o.reconciledAt)}</dd>
          </dl>
        </section>
        <section aria-labelledby="customer">
          <h2 id="customer">Customer</h2>
          <dl className="adm-dl">
            <dt>Name</dt>
            <dd>{o.customer.name}</dd>
            <dt>Email</dt>
            <dd>{o.customer.email}</dd>
            <dt>Address</dt>
            <dd>
              {[o.customer.address.line1, o.customer.address.line2, o.customer.address.city, o.customer.address.state, o.customer.address.postalCode, o.customer.address.country]
                .filter(Boolean)
                .join(', ')}
            </dd>
          </dl>
        </section>
        <section aria-labelledby="payment">
          <h2 id="payment">Payment</h2>
          <dl className="adm-dl">
            <dt>PaymentIntent</dt>
            <dd className="adm-mono" data-testid="payment-intent">
              {o.payment.paymentIntentId ?? '—'}
            </dd>
            <dt>Requested</dt>
            <dd>{utc(o.payment.requestedAt)}</dd>
            <dt>Received</dt>
            <dd>{money(o.payment.amountReceived, o.payment.currency)}</dd>
            <dt>Success event</dt>
            <dd className="adm-mono">{o.payment.succeededEventId ?? '—'}</dd>
            <dt>Last failure</dt>
            <dd>{o.payment.lastError ? `${o.payment.lastError.code ?? ''}: ${o.payment.lastError.message ?? ''} (${utc(o.payment.lastError.at)})` : '—'}</dd>
            <dt>Refund</dt>
            <dd data-testid="refund">{o.refund ? `${o.refund.id}, ${money(o.refund.amount)} (${utc(o.refund.at)})` : '—'}</dd>
          </dl>
        </section>
      </div>

      <h2 id="lines">Lines and stock</h2>
      <DataTable labelledBy="lines" columns={['SKU', 'Item', numeric('Qty'), numeric('Line total'), 'Held now', 'Sold']}>
        {o.items.map((l) => {
          const held = o.holds.filter((h) => h.sku === l.sku);
          const sold = o.sold.find((s) => s.sku === l.sku);
          return (
            <tr key={l.sku}>
              <td className="adm-mono">
                <Link href={`/admin/stock?sku=${encodeURIComponent(l.sku)}`}>{l.sku}</Link>
              </td>
              <td>{l.name}</td>
              <td className="adm-num">{l.qty}</td>
              <td className="adm-num">{money(l.lineTotalMinor)}</td>
              <td>{held.map((h) => `${h.qty} (ref ${h.ref})`).join(', ') || '—'}</td>
              <td>{sold ? `${sold.qty} (${utc(sold.at)})` : '—'}</td>
            </tr>
          );
        })}
      </DataTable>

      <h2 id="history">History</h2>
      <DataTable labelledBy="history" testId="history" columns={['When', 'From', 'To', 'Action', 'Outcome', 'Detail']}>
        {o.history.map((h, i) => (
          <tr key={i}>
            <td>{utc(h.at)}</td>
            <td>{h.from ?? '—'}</td>
            <td>{h.to}</td>
            <td>{h.action}</td>
            <td>{h.outcome}</td>
            <td className="adm-mono">{h.detail ?? ''}</td>
          </tr>
        ))}
      </DataTable>

      <h2 id="events">Webhook events</h2>
      {o.events.length === 0 ? (
        <p>None recorded for this order.</p>
      ) : (
        <DataTable labelledBy="events" columns={['Event', 'Type', 'Received', 'Processed', 'Outcome']}>
          {o.events.map((e) => (
            <tr key={e.id}>
              <td className="adm-mono">{e.id}</td>
              <td>{e.type}</td>
              <td>{utc(e.receivedAt)}</td>
              <td>{utc(e.processedAt)}</td>
              <td>{e.outcome ?? '—'}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}
