/**
 * The auditor's report for people: one line per violation (check, subject,
 * expected vs found), then one summary line, so `npm run invariants` output
 * can be read, grepped and pasted into an incident.
 */
import type { AuditReport, CheckName } from './types';

export function summaryLine(report: AuditReport): string {
  const { products, orders } = report.checked;
  const scope = `checked ${products} product${products === 1 ? '' : 's'} and ${orders} order${orders === 1 ? '' : 's'}`;
  if (report.violations.length === 0) return `OK: no violations (${scope})`;
  const byCheck = new Map<CheckName, number>();
  for (const v of report.violations) byCheck.set(v.check, (byCheck.get(v.check) ?? 0) + 1);
  const kinds = [...byCheck].map(([check, n]) => `${check} ×${n}`).join(', ');
  const n = report.violations.length;
  return `FAIL: ${n} violation${n === 1 ? '' : 's'} (${kinds}; ${scope})`;
}

export function formatReport(report: AuditReport): string {
  const lines = report.violations.map((v) => `[${v.check}] ${v.subject}: ${v.message}`);
  return [...lines, summaryLine(report)].join('\n');
}
