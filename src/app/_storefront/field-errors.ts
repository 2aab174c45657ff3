/**
 * Server errors placed next to the fields they are about. The API names the
 * offending input in `data.field` (`customer.email`, `customer.address.postalCode`)
 * and, for validation errors, lists every problem in the message as
 * `path: problem; path: problem`.
 */
export type FieldErrors = Partial<Record<string, string>>;

interface ErrorLike {
  message: string;
  data?: { field?: string | null } | null;
}

/** Input paths (`customer.address.city`) to the problem with each, for the fields in `known`. */
export function fieldErrorsFrom(err: ErrorLike, known: readonly string[]): { fields: FieldErrors; other: string | null } {
  const fields: FieldErrors = {};
  for (const part of err.message.split('; ')) {
    const colon = part.indexOf(': ');
    const path = colon > 0 ? part.slice(0, colon) : '';
    if (known.includes(path)) fields[path] ??= part.slice(colon + 2);
  }
  const named = err.data?.field;
  if (named && known.includes(named) && !fields[named]) fields[named] = err.message;
  return { fields, other: Object.keys(fields).length === 0 ? err.message : null };
}
