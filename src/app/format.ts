/** Minor units to a display string: 129900 inr -> ₹1,299.00. */
export function formatMoney(minor: number, currency: string): string {
  return new Intl.NumberFormat('en-IN', { style: 'currency', currency: currency.toUpperCase() }).format(minor / 100);
}
