/**
 * Keeping an order's access token out of URLs. The link a buyer gets (and the
 * storefront's first navigation) carries it as `?token=`; the middleware puts
 * it in an httpOnly, SameSite=Strict cookie scoped to that one order's path,
 * the page drops the query from the address bar, and from then on the page
 * reads the token from the cookie and the browser sends it to the API in POST
 * bodies, never in a URL: not in the history, not in access logs of every
 * refresh, not in a Referer (the app also sends Referrer-Policy: no-referrer).
 *
 * Strict is safe here because nothing navigates back to the order page from
 * another site: both payment forms confirm in place (Stripe's Payment Element
 * without redirects, the simulator's 3-D Secure check in a frame); a link
 * opened from an e-mail carries the token again.
 */
export const ORDER_ACCESS_COOKIE = 'order_access';

/** An order page path, capturing the order id (the format of src/server/validation.ts). */
export const ORDER_PAGE_PATH = /^\/orders\/(ord_[a-f0-9]{24})$/;

/** What an access token looks like (src/server/validation.ts): anything else is never stored. */
export const ACCESS_TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,64}$/;

/** A buyer comes back to an order for a while: a month, as the order e-mail's link would. */
const MAX_AGE_SECONDS = 30 * 24 * 3600;

export function orderAccessCookie(orderId: string, token: string, secure: boolean) {
  return {
    name: ORDER_ACCESS_COOKIE,
    value: token,
    httpOnly: true,
    sameSite: 'strict' as const,
    secure,
    path: `/orders/${orderId}`,
    maxAge: MAX_AGE_SECONDS,
  };
}
