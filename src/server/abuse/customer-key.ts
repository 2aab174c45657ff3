/**
 * One customer, however they spell their email address: the key the
 * per-customer limits (unpaid orders at once, orders per window) count under.
 *
 * Normalised: trimmed and lower-cased; a `+tag` after the local part dropped
 * (most providers deliver `a+x@d` to `a@d`, which makes it the cheapest way to
 * mint "new" customers); for Gmail, dots in the local part dropped and
 * googlemail.com read as gmail.com, as Gmail itself does. Orders keep the
 * address exactly as the customer typed it; only the limits use the key.
 */
const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

export function customerKey(email: string): string {
  const lower = email.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0) return lower;
  let local = lower.slice(0, at);
  let domain = lower.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replaceAll('.', '');
    domain = 'gmail.com';
  }
  return `${local}@${domain}`;
}
