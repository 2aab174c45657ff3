/** The console's front page: everything that needs a human now. */
import Link from 'next/link';
import { formatMoney } from '../../format';
import { asOperator, utc } from '../operator-access';
import { RefundButton } from '../refund-button';
import { StateBadge } from '../state-badge';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Attention — Operator console' };

const orderLink = (id: string) => (
  <Link href={`/admin/orders/${id}`} className="adm-mono">
    {id}
  </Link>
);

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

      <section aria-labelledby="mismatches">
        <h2 id="mismatches">Payment mismatches</h2>
        <p className="adm-muted">Money arrived with the wrong amount or currency: never marked paid, stock released. Review, then refund.</p>
        {a.mismatches.length === 0 ? (
          <p>None.</p>
        ) : (
          <div className="adm-table-wrap" role="region" aria-label="Payment mismatches" tabIndex={0}>
            <table className="adm-table" data-testid="mismatches">
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col" className="adm-num">
                    Order total
                  </th>
                  <th scope="col" className="adm-num">
                    Received
                  </th>
                  <th scope="col">PaymentIntent</th>
                  <th scope="col">Flagged</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="stuck">
        <h2 id="stuck">Stuck orders</h2>
        <p className="adm-muted">
          In a step, or with work pending, for longer than STUCK_AFTER_MS ({seconds} s): the invariant auditor’s stuck checks. The reconciler keeps re-driving them; one that stays here is
          a bug or an outage.
        </p>
        {a.stuck.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul data-testid="stuck">
            {a.stuck.map((s) => (
              <li key={s.orderId}>
                {orderLink(s.orderId)} <StateBadge state={s.state} /> since {utc(s.stateChangedAt)}
                <ul>
                  {s.problems.map((p) => (
                    <li key={p.check}>
                      <strong>{p.check}</strong>: {p.message}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="flagged">
        <h2 id="flagged">Flagged orders</h2>
        <p className="adm-muted">Problems no automatic step can resolve (a PaymentIntent Stripe does not know, unsold lines, a failed refund, a dispute).</p>
        {a.flagged.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul data-testid="flagged">
            {a.flagged.map((f) => (
              <li key={f.orderId}>
                {orderLink(f.orderId)} <StateBadge state={f.state} />
                <ul>
                  {f.flags.map((flag) => (
                    <li key={flag.reason}>
                      <strong>{flag.reason}</strong> ({utc(flag.at)}){flag.detail ? `: ${flag.detail}` : ''}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="events">
        <h2 id="events">Stuck webhook events</h2>
        {a.stuckEvents.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {a.stuckEvents.map((e) => (
              <li key={e.eventId}>
                <span className="adm-mono">{e.eventId}</span> {e.type}
                {e.orderId ? <> for {orderLink(e.orderId)}</> : null}: {e.message}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="failed">
        <h2 id="failed">Failed jobs</h2>
        <p className="adm-muted">
          Jobs that used up their retries (their orders are still re-driven by the reconciler). Retry or inspect them in <a href="/admin/queues">Bull Board</a>.
        </p>
        {a.failedJobs.length === 0 ? (
          <p>None.</p>
        ) : (
          <div className="adm-table-wrap" role="region" aria-label="Failed jobs" tabIndex={0}>
            <table className="adm-table" data-testid="failed-jobs">
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">Job</th>
                  <th scope="col">Order or event</th>
                  <th scope="col" className="adm-num">
                    Attempts
                  </th>
                  <th scope="col">Failed</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
