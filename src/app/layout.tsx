import type { ReactNode } from 'react';
import { TRPCReactProvider } from '../trpc/react';

export const metadata = { title: 'Resilient Orders', description: 'A storefront that never oversells' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 880, margin: '2rem auto', padding: '0 1rem' }}>
        <TRPCReactProvider>{children}</TRPCReactProvider>
      </body>
    </html>
  );
}
