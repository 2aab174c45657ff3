/**
 * Bull Board at /admin/queues, for signed-in operators only: a request
 * without a live operator session never reaches the board (a page request is
 * sent to the sign-in page, an API request gets 401).
 */
import { NextResponse } from 'next/server';
import { createBullBoardHandler } from '@/server/admin/bull-board';
import { getOperatorConsole } from '@/server/admin/operator-console';
import { operatorSession } from '@/server/admin/sign-in';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

let board: ((req: Request) => Promise<Response>) | undefined;

async function handler(req: Request): Promise<Response> {
  const operatorConsole = await getOperatorConsole();
  if (!operatorConsole) return NextResponse.json({ error: 'Not found' }, { status: 404 });
  if (!(await operatorSession(req.headers.get('cookie'), operatorConsole.credential))) {
    const { pathname } = new URL(req.url);
    if (req.method === 'GET' && !pathname.startsWith('/admin/queues/api/') && !pathname.startsWith('/admin/queues/static/')) {
      return new Response(null, { status: 303, headers: { Location: `/admin/sign-in?next=${encodeURIComponent('/admin/queues')}`, 'Cache-Control': 'no-store' } });
    }
    return NextResponse.json({ error: 'Sign in to the operator console first' }, { status: 401 });
  }
  board ??= createBullBoardHandler(Object.values(operatorConsole.runtime.queues.queues));
  const res = await board(req);
  res.headers.set('Cache-Control', 'no-store');
  return res;
}

export { handler as GET, handler as POST, handler as PUT, handler as DELETE, handler as PATCH };
