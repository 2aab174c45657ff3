/** The console's front page: everything that needs a human now. */
import Link from 'next/link';
import type { ReactNode } from 'react';
import { formatMoney } from '../../format';
import { asOperator, utc } from '../operator-access';
import { RefundButton } from '../refund-button';
import { StateBadge } from '../state-badge';
import { DataTable, numeric } from '../data-table';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Attention — Operator console' };

const orderLink = (id: string) => (
  <Link href={`/admin/orders/${id}`} className="adm-mono">
    {id}
  </Link>
);

/** One part of the list: its heading, what it means, and its rows or "None." */
function Part({ id, title, count, note, children }: { id: string; title: string; count: number; note?: ReactNode; children: ReactNode }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {note && <p className="adm-muted">{note}</p>}
      {count === 0 ? <p>None.</p> : children}
    </section>
  );
}

/** Orders, each with what is wrong with it. */
function OrderProblems({ orders, testId }: { orders: { orderId: string; state: string; since?: string; problems: { name: string; text: string }[] }[]; testId: string }) {
  return (
    <ul data-testid={testId}>
      {orders.map((o) => (
        <li key={o.orderId}>
          {orderLink(o.orderId)} <StateBadge state={o.state} />
          {o.since ? ` since ${utc(o.since)}` : ''}
          <ul>
            {o.problems.map((p) => (
              <li key={p.name}>
                <strong>{p.name}</strong>: {p.text}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}

export default async function AttentionPage() {
  const a = await asOperator('/admin', (admin) => admin.attention());
  const seconds = Math.round(a.stuckAfterMs / 1000);
  return (
    <>
      <h1>Needs attention</h1>
      <ul className="adm-summary" aria-label="Counts">
        <li>
          <a href="#mismatches">Payment mismatches: {a.mismatches.length}</a>
        </li>
        <li>
          <a href="#stuck">Stuck orders: {a.stuck.length}</a>
        </li>
        <li>
          <a href="#flagged">Flagged orders: {a.flagged.length}</a>
        </li>
        <li>
          <a href="#events">Stuck webhook events: {a.stuckEvents.length}</a>
        </li>
        <li>
          <a href="#failed">Failed jobs: {a.failedJobs.length}</a>
        </li>
      </ul>
      {a.truncated.length > 0 && <p className="adm-muted">Only the first 100 of: {a.truncated.join(', ')}.</p>}

      <Part
        id="mismatches"
        title="Payment mismatches"
        count={a.mismatches.length}
        note="Money arrived with the wrong amount or currency: never marked paid, stock released. Review, then refund."
      >
        <DataTable label="Payment mismatches" testId="mismatches" columns={['Order', numeric('Order total'), numeric('Received'), 'PaymentIntent', 'Flagged', 'Action']}>
          {a.mismatches.map((m) => {
            const received = m.amountReceived === null ? '—' : formatMoney(m.amountReceived, m.receivedCurrency ?? m.currency);
            return (
              <tr key={m.orderId} data-order-id={m.orderId}>
                <td>{orderLink(m.orderId)}</td>
                <td className="adm-num">{formatMoney(m.totalMinor, m.currency)}</td>
                <td className="adm-num">{received}</td>
                <td className="adm-mono">{m.paymentIntentId ?? '—'}</td>
                <td>{utc(m.flaggedAt)}</td>
                <td>
                  <RefundButton orderId={m.orderId} amount={received} />
                </td>
              </tr>
            );
          })}
        </DataTable>
      </Part>

      <Part
        id="stuck"
        title="Stuck orders"
        count={a.stuck.length}
        note={<>In a step, or with work pending, for longer than STUCK_AFTER_MS ({seconds} s): the invariant auditor’s stuck checks. The reconciler keeps re-driving them; one that stays here is a bug or an outage.</>}
      >
        <OrderProblems
          testId="stuck"
          orders={a.stuck.map((s) => ({ ...s, since: s.stateChangedAt, problems: s.problems.map((p) => ({ name: p.check, text: p.message })) }))}
        />
      </Part>

      <Part
        id="flagged"
        title="Flagged orders"
        count={a.flagged.length}
        note="Problems no automatic step can resolve (a PaymentIntent Stripe does not know, unsold lines, a failed refund, a dispute)."
      >
        <OrderProblems
          testId="flagged"
          orders={a.flagged.map((f) => ({ ...f, problems: f.flags.map((flag) => ({ name: flag.reason, text: `${utc(flag.at)}${flag.detail ? `: ${flag.detail}` : ''}` })) }))}
        />
      </Part>

      <Part id="events" title="Stuck webhook events" count={a.stuckEvents.length}>
        <ul>
          {a.stuckEvents.map((e) => (
            <li key={e.eventId}>
              <span className="adm-mono">{e.eventId}</span> {e.type}
              {e.orderId ? <> for {orderLink(e.orderId)}</> : null}: {e.message}
            </li>
          ))}
        </ul>
      </Part>

      <Part
        id="failed"
        title="Failed jobs"
        count={a.failedJobs.length}
        note={<>Jobs that used up their retries (their orders are still re-driven by the reconciler). Retry or inspect them in <a href="/admin/queues">Bull Board</a>.</>}
      >
        <DataTable label="Failed jobs" testId="failed-jobs" columns={['Queue', 'Job', 'Order or event', numeric('Attempts'), 'Failed', 'Reason']}>
          {a.failedJobs.map((j) => (
            <tr key={`${j.queue}/${j.jobId}`}>
              <td>
                <a href={`/admin/queues/queue/${encodeURIComponent(j.queue)}?status=failed`}>{j.queue}</a>
              </td>
              <td className="adm-mono">{j.jobId}</td>
              <td>{j.orderId ? orderLink(j.orderId) : <span className="adm-mono">{j.eventId ?? '—'}</span>}</td>
              <td className="adm-num">{j.attemptsMade}</td>
              <td>{utc(j.failedAt)}</td>
              <td>{j.failedReason}</td>
            </tr>
          ))}
        </DataTable>
      </Part>
    </>
  );
}
