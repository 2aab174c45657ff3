/**
 * Moves an order's access token from the link (`/orders/<id>?token=…`) into
 * a cookie scoped to that order (see app/orders/order-access.ts). The page
 * still gets this first request's query; every later request carries the
 * cookie instead.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { ACCESS_TOKEN_SHAPE, ORDER_PAGE_PATH, orderAccessCookie } from './app/orders/order-access';

export function middleware(req: NextRequest): NextResponse {
  const orderId = ORDER_PAGE_PATH.exec(req.nextUrl.pathname)?.[1];
  const token = req.nextUrl.searchParams.get('token');
  const res = NextResponse.next();
  if (orderId && token && ACCESS_TOKEN_SHAPE.test(token)) {
    res.cookies.set(orderAccessCookie(orderId, token, req.nextUrl.protocol === 'https:'));
  }
  return res;
}

export const config = { matcher: '/orders/:orderId' };
