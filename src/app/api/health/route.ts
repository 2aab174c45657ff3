import { NextResponse } from 'next/server';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/**
 * Liveness: the process answers. Deliberately checks nothing else, so a
 * database outage never gets healthy web processes restarted; whether the
 * app can serve orders is /api/ready.
 */
export function GET(): NextResponse {
  return NextResponse.json({ ok: true });
}
