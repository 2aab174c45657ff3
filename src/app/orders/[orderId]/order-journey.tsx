'use client';
/** The order's journey: each state change and payment event, when it happened and what it did. */
import { journeyOf, type OrderView } from '../../_lib/order-words';

export function OrderJourney({ order }: { order: OrderView }) {
  const entries = journeyOf(order);
  return (
    <ol className="journey" data-testid="order-journey">
      {entries.map((e) => (
        <li key={e.key} className="journey-step">
          <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time>
          <span className="journey-what">{e.what}</span>
          <span className={`journey-outcome outcome-${e.outcome.replace(/\s+/g, '-')}`}>{e.outcome}</span>
        </li>
      ))}
    </ol>
  );
}
