/**
 * The order page. The access token comes from the link's `?token=` on the
 * first visit (the middleware also puts it in a cookie scoped to this order,
 * and the page then drops it from the address bar), afterwards from that
 * cookie. How the buyer pays is decided here, on the server, from the
 * configuration (server/payments/payment-mode.ts).
 */
import { cookies } from 'next/headers';
import { getConfig } from '@/server/config';
import { paymentModeFor } from '@/server/payments/payment-mode';
import { ORDER_ACCESS_COOKIE } from '../order-access';
import { OrderStatus } from './order-status';

export const metadata = { title: 'Your order — Resilient Orders' };

export default async function OrderPage({
  params,
  searchParams,
}: {
  params: Promise<{ orderId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { orderId } = await params;
  const query = (await searchParams).token;
  const fromLink = Array.isArray(query) ? query[0] : query;
  const fromCookie = (await cookies()).get(ORDER_ACCESS_COOKIE)?.value;
  return (
    <main id="main">
      <h1>
        Order <span className="order-id">{orderId}</span>
      </h1>
      <OrderStatus
        orderId={orderId}
        accessToken={fromLink ?? fromCookie ?? null}
        tokenInUrl={fromLink !== undefined}
        payment={paymentModeFor(getConfig())}
      />
    </main>
  );
}
