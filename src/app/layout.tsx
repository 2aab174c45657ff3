import type { ReactNode } from 'react';
import { TRPCReactProvider } from '../trpc/react';
import './globals.css';

export const metadata = { title: 'Resilient Orders', description: 'A storefront that never oversells' };

export const viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <a href="/" className="site-name">
            Resilient Orders
          </a>
        </header>
        <div className="page">
          <TRPCReactProvider>{children}</TRPCReactProvider>
        </div>
      </body>
    </html>
  );
}
