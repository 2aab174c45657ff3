/** Operator sign-out: ends the session server-side and clears the cookie (form: 303 to the sign-in page; otherwise JSON). */
import { NextResponse } from 'next/server';
import { getOperatorConsole } from '@/server/admin/operator-console';
import { clearedSessionCookie } from '@/server/admin/session-cookie';
import { signOut } from '@/server/admin/sign-in';
import { seeOther } from '../see-other';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function POST(req: Request): Promise<Response> {
  const operatorConsole = await getOperatorConsole();
  if (!operatorConsole) return NextResponse.json({ error: 'The operator console is switched off' }, { status: 404 });
  await signOut(req.headers.get('cookie'));
  const form = req.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded');
  const res = form ? seeOther('/admin/sign-in?signedOut=1') : NextResponse.json({ signedIn: false });
  res.headers.append('Set-Cookie', clearedSessionCookie(operatorConsole.secureCookies));
  return res;
}
