'use client';
/** The cart's lines with a quantity control each (−, a number field, +) and Remove. */
import { useEffect, useState } from 'react';
import type { StockLabel } from '../../server/catalog/catalog';
import { formatMoney } from '../format';

export interface CartLine {
  sku: string;
  name: string;
  qty: number;
  lineTotalMinor: number;
}

/** The API's per-line limit (src/server/validation.ts). */
const MAX_QTY = 100;

function QuantityControl({ line, stock, busy, onSetQty }: { line: CartLine; stock: StockLabel | undefined; busy: boolean; onSetQty: (qty: number) => void }) {
  const [draft, setDraft] = useState(String(line.qty));
  useEffect(() => setDraft(String(line.qty)), [line.qty]);
  const inputId = `qty-${line.sku}`;
  const commit = () => {
    const qty = Number(draft);
    if (Number.isInteger(qty) && qty >= 1 && qty <= MAX_QTY && qty !== line.qty) onSetQty(qty);
    else setDraft(String(line.qty));
  };
  return (
    <div className="qty">
      <button type="button" className="button button-small" aria-label={`One fewer ${line.name}`} disabled={busy || line.qty <= 1} onClick={() => onSetQty(line.qty - 1)}>
        −
      </button>
      <label htmlFor={inputId} className="visually-hidden">
        Quantity of {line.name}
      </label>
      <input
        id={inputId}
        className="qty-input"
        type="number"
        inputMode="numeric"
        min={1}
        max={MAX_QTY}
        value={draft}
        disabled={busy}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            commit();
          }
        }}
      />
      <button type="button" className="button button-small" aria-label={`One more ${line.name}`} disabled={busy || line.qty >= MAX_QTY} onClick={() => onSetQty(line.qty + 1)}>
        +
      </button>
      {/* The storefront shows a label, not the count: how many is decided when the order is placed. */}
      {stock === 'sold-out' && (
        <span className="hint" role="note">
          Sold out: the order may not be accepted.
        </span>
      )}
      {stock === 'few-left' && (
        <span className="hint" role="note">
          Only a few left.
        </span>
      )}
    </div>
  );
}

export function CartLines({
  lines,
  currency,
  totalMinor,
  stock,
  busy,
  onSetQty,
  onRemove,
}: {
  lines: CartLine[];
  currency: string;
  totalMinor: number;
  stock: (sku: string) => StockLabel | undefined;
  busy: boolean;
  onSetQty: (sku: string, qty: number) => void;
  onRemove: (sku: string) => void;
}) {
  return (
    <>
      <ul className="cart-lines">
        {lines.map((l) => (
          <li key={l.sku} className="cart-line" data-sku={l.sku}>
            <span className="cart-line-name">{l.name}</span>
            <QuantityControl line={l} stock={stock(l.sku)} busy={busy} onSetQty={(qty) => onSetQty(l.sku, qty)} />
            <span className="cart-line-total">{formatMoney(l.lineTotalMinor, currency)}</span>
            <button type="button" className="button button-link" disabled={busy} onClick={() => onRemove(l.sku)} aria-label={`Remove ${l.name} from the cart`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <p className="cart-total">
        Total: <strong data-testid="cart-total">{formatMoney(totalMinor, currency)}</strong>
      </p>
    </>
  );
}
