import { OrderStatus } from './order-status';

export default async function OrderPage({
  params,
  searchParams,
}: {
  params: Promise<{ orderId: string }>;
  searchParams: Promise<{ token?: string }>;
}) {
  const { orderId } = await params;
  const { token } = await searchParams;
  return (
    <main>
      <h1>Order {orderId}</h1>
      <OrderStatus orderId={orderId} accessToken={token ?? ''} />
    </main>
  );
}
