/**
 * The console's tables: a header row of column names (numeric ones
 * right-aligned) in a horizontally scrolling region that is a named,
 * focusable landmark, so a wide table stays usable by keyboard on a phone.
 */
import type { ReactNode } from 'react';

export type Column = string | { label: string; numeric: true };

export function DataTable({ label, labelledBy, testId, columns, children }: { label?: string; labelledBy?: string; testId?: string; columns: Column[]; children: ReactNode }) {
  return (
    <div className="adm-table-wrap" role="region" aria-label={label} aria-labelledby={labelledBy} tabIndex={0}>
      <table className="adm-table" data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) =>
              typeof c === 'string' ? (
                <th key={c} scope="col">
                  {c}
                </th>
              ) : (
                <th key={c.label} scope="col" className="adm-num">
                  {c.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A right-aligned numeric column. */
export const numeric = (label: string): Column => ({ label, numeric: true });
