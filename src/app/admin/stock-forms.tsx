'use client';
/**
 * The console's stock changes: add units to a SKU, create a product. Each
 * attempt carries its own request key, kept until it succeeds, so a double
 * click or a retry after a lost answer adds the units once.
 */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../../trpc/react';

const newKey = () => `restock-${crypto.randomUUID()}`;

/** The server's field errors (zod) or message, for the form. */
function problem(err: { message: string; data?: { field?: string | null } | null } | null): string | null {
  if (!err) return null;
  return err.data?.field ? `${err.data.field}: ${err.message.replace(/^[\w.]+: /, '')}` : err.message;
}

export function AddStockForm({ sku }: { sku: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [requestKey, setRequestKey] = useState(newKey);
  const [qty, setQty] = useState('');
  const add = useMutation(
    trpc.admin.addStock.mutationOptions({
      onSuccess: () => {
        setRequestKey(newKey());
        setQty('');
        router.refresh();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate({ sku, qty: Number(qty), requestKey });
  }
  return (
    <form onSubmit={submit} className="adm-form" style={{ marginBottom: 0 }} aria-label={`Add stock to ${sku}`}>
      <label>
        <span>Units to add to {sku}</span>
        <input type="number" name="qty" min={1} max={100000} step={1} required value={qty} onChange={(e) => setQty(e.target.value)} style={{ width: '6rem' }} />
      </label>
      <button type="submit" disabled={add.isPending}>
        {add.isPending ? 'Adding…' : 'Add stock'}
      </button>
      {add.error && (
        <span role="alert" className="adm-bad">
          {problem(add.error)}
        </span>
      )}
      {add.data && (
        <span role="status" className="adm-ok">
          {add.data.outcome === 'applied' ? `Added; initial stock now ${add.data.initialStock}` : 'Already added'}
        </span>
      )}
    </form>
  );
}

export function CreateProductForm({ currency }: { currency: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(trpc.admin.createProduct.mutationOptions({ onSuccess: () => router.refresh() }));
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => {
      const v = f.get(k);
      return typeof v === 'string' ? v : '';
    };
    // Rupees as typed, to paise without floating-point surprises (12.34 -> 1234).
    const [whole = '0', frac = ''] = text('price').trim().split('.');
    create.mutate({
      sku: text('sku').trim().toUpperCase(),
      name: text('name'),
      description: text('description'),
      priceMinor: Number(whole) * 100 + Number(frac.padEnd(2, '0').slice(0, 2)),
      initialStock: Number(text('initialStock')),
      stripes: Number(text('stripes') || '1'),
    });
  }
  return (
    <form onSubmit={submit} className="adm-form" aria-label="Create a product">
      <label>
        SKU
        <input name="sku" required minLength={2} maxLength={64} pattern="[A-Za-z0-9][A-Za-z0-9\-]*" placeholder="MUG-BLUE" />
      </label>
      <label>
        Name
        <input name="name" required maxLength={200} />
      </label>
      <label>
        Description
        <input name="description" maxLength={2000} />
      </label>
      <label>
        Price ({currency.toUpperCase()})
        <input name="price" required inputMode="decimal" pattern="\d{1,7}(\.\d{1,2})?" placeholder="349.00" style={{ width: '7rem' }} />
      </label>
      <label>
        Initial stock
        <input name="initialStock" type="number" required min={0} max={1000000} step={1} style={{ width: '6rem' }} />
      </label>
      <label title="Split the stock over this many documents for a product that will sell thousands of units at once">
        Stripes
        <input name="stripes" type="number" min={1} max={64} step={1} defaultValue={1} style={{ width: '4rem' }} />
      </label>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create product'}
      </button>
      {create.error && (
        <p role="alert" className="adm-alert" style={{ flexBasis: '100%' }}>
          {problem(create.error)}
        </p>
      )}
      {create.data && (
        <p role="status" className="adm-notice" style={{ flexBasis: '100%' }} data-testid="product-created">
          {create.data.outcome === 'created' ? `Created ${create.data.sku}.` : `${create.data.sku} already exists with these details; nothing changed.`}
        </p>
      )}
    </form>
  );
}
