/** A 303 with a relative Location: right behind any proxy, whatever Host the request carried. */
export function seeOther(location: string): Response {
  return new Response(null, { status: 303, headers: { Location: location, 'Cache-Control': 'no-store' } });
}
