/** The signed-in console: its navigation (Bull Board included) and sign-out, around every page but sign-in. */
import '../admin.css';
import type { ReactNode } from 'react';
import { NavLink } from '../nav-link';
import { currentOperator } from '../operator-access';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Operator console — Resilient Orders' };

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  // Without a session the page itself sends the visitor to sign in (it knows
  // its own path to come back to); its data needs a session anyway.
  if (!(await currentOperator())) return children;
  return (
    <div className="adm-console">
      <a className="adm-skip" href="#content">
        Skip to content
      </a>
      <header className="adm-header">
        <span className="adm-brand">Operator console</span>
        <nav className="adm-nav" aria-label="Console sections">
          <ul>
            <li>
              <NavLink href="/admin">Attention</NavLink>
            </li>
            <li>
              <NavLink href="/admin/orders">Orders</NavLink>
            </li>
            <li>
              <NavLink href="/admin/stock">Stock</NavLink>
            </li>
            <li>
              {/* A full page load: Bull Board is its own app behind the same sign-in. */}
              <a href="/admin/queues">Queues (Bull Board)</a>
            </li>
          </ul>
        </nav>
        <form method="post" action="/api/admin/sign-out">
          <button type="submit" className="adm-secondary">
            Sign out
          </button>
        </form>
      </header>
      <main id="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
