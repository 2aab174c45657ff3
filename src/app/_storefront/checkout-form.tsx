'use client';
/**
 * The buyer's details. Every field has a label; problems the server finds
 * are shown under the field they are about (from the error's `data.field`
 * and message) and focus moves to the first one. The browser's own
 * validation is off (noValidate) so the API's rules are the only rules.
 */
import { useEffect, useRef, type FormEvent } from 'react';
import type { CustomerInput } from '../../server/validation';
import type { CheckoutErrors } from './use-checkout';

interface FieldSpec {
  name: string;
  path: string;
  label: string;
  autoComplete: string;
  type?: string;
  maxLength: number;
  optional?: true;
  defaultValue?: string;
  hint?: string;
}

const FIELDS: FieldSpec[] = [
  { name: 'name', path: 'customer.name', label: 'Full name', autoComplete: 'name', maxLength: 120 },
  { name: 'email', path: 'customer.email', label: 'Email', autoComplete: 'email', type: 'email', maxLength: 254, hint: 'For your receipt.' },
  { name: 'line1', path: 'customer.address.line1', label: 'Address', autoComplete: 'address-line1', maxLength: 200 },
  { name: 'line2', path: 'customer.address.line2', label: 'Address line 2', autoComplete: 'address-line2', maxLength: 200, optional: true },
  { name: 'city', path: 'customer.address.city', label: 'City', autoComplete: 'address-level2', maxLength: 100 },
  { name: 'state', path: 'customer.address.state', label: 'State', autoComplete: 'address-level1', maxLength: 100 },
  { name: 'postalCode', path: 'customer.address.postalCode', label: 'PIN code', autoComplete: 'postal-code', maxLength: 12 },
  { name: 'country', path: 'customer.address.country', label: 'Country code', autoComplete: 'country', maxLength: 2, defaultValue: 'IN', hint: 'Two letters, e.g. IN.' },
];

function saved(customer: CustomerInput | null, name: string): string | undefined {
  if (!customer) return undefined;
  if (name === 'name' || name === 'email') return customer[name];
  return (customer.address as Record<string, string | undefined>)[name];
}

export function CheckoutForm({
  errors,
  pending,
  resuming,
  savedCustomer,
  onSubmit,
}: {
  errors: CheckoutErrors;
  pending: boolean;
  resuming: boolean;
  savedCustomer: CustomerInput | null;
  onSubmit: (customer: CustomerInput) => void;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  const summaryRef = useRef<HTMLParagraphElement>(null);

  // Take the buyer to the first problem.
  useEffect(() => {
    const first = FIELDS.find((f) => errors.fields[f.path]);
    if (first) formRef.current?.querySelector<HTMLInputElement>(`[name="${first.name}"]`)?.focus();
    else if (errors.other) summaryRef.current?.focus();
  }, [errors]);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (pending) return;
    const f = new FormData(e.currentTarget);
    const v = (k: string) => {
      const x = f.get(k);
      return typeof x === 'string' ? x : '';
    };
    const line2 = v('line2').trim();
    onSubmit({
      name: v('name'),
      email: v('email'),
      address: {
        line1: v('line1'),
        ...(line2 ? { line2 } : {}),
        city: v('city'),
        state: v('state'),
        postalCode: v('postalCode'),
        country: v('country'),
      },
    });
  }

  return (
    <form ref={formRef} onSubmit={submit} noValidate className="checkout" aria-labelledby="checkout-heading">
      <h3 id="checkout-heading">Delivery details</h3>
      {errors.other && (
        <p ref={summaryRef} tabIndex={-1} role="alert" className="error" data-testid="checkout-error">
          {errors.other}
        </p>
      )}
      {FIELDS.map((f) => {
        const id = `checkout-${f.name}`;
        const error = errors.fields[f.path];
        const described = [f.hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
        return (
          <div key={f.name} className="field">
            <label htmlFor={id}>
              {f.label}
              {f.optional && <span className="optional"> (optional)</span>}
            </label>
            {f.hint && (
              <span id={`${id}-hint`} className="hint">
                {f.hint}
              </span>
            )}
            <input
              id={id}
              name={f.name}
              type={f.type ?? 'text'}
              autoComplete={f.autoComplete}
              maxLength={f.maxLength}
              defaultValue={saved(savedCustomer, f.name) ?? f.defaultValue}
              required={!f.optional}
              aria-invalid={error ? true : undefined}
              aria-describedby={described || undefined}
            />
            {error && (
              <span id={`${id}-error`} className="field-error" data-field={f.path}>
                {error}
              </span>
            )}
          </div>
        );
      })}
      <button type="submit" className="button button-primary" disabled={pending} aria-disabled={pending}>
        {resuming ? 'Finishing your order…' : pending ? 'Placing your order…' : 'Place order'}
      </button>
      {resuming && (
        <p role="status" className="hint">
          You pressed Place order before the page reloaded; finishing that order (it will not be placed twice).
        </p>
      )}
    </form>
  );
}
