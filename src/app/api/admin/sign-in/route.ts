/**
 * Operator sign-in. Takes the console's sign-in form (urlencoded, answered
 * with a 303 redirect, so it works without JavaScript) or JSON
 * `{ "password": "…" }` (answered 200 / 401 / 429 with JSON), and sets the
 * session cookie on success. Throttled per client and in total
 * (src/server/admin/login-throttle.ts).
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { clientKey } from '@/server/admin/login-throttle';
import { getOperatorConsole } from '@/server/admin/operator-console';
import { sessionCookie } from '@/server/admin/session-cookie';
import { signIn } from '@/server/admin/sign-in';
import { seeOther } from '../see-other';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const input = z.object({ password: z.string().min(1).max(200), next: z.string().max(500).optional() }).strict();

/** Only a path inside the console: never an open redirect. */
function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[A-Za-z0-9_\-./?=&%]*)?$/.test(next) && !next.startsWith('//') && !next.includes('..') ? next : '/admin';
}

async function readInput(req: Request): Promise<{ form: boolean; parsed: z.ZodSafeParseResult<z.infer<typeof input>> }> {
  const type = req.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const body = new URLSearchParams((await req.text()).slice(0, 4096));
    return { form: true, parsed: input.safeParse({ password: body.get('password') ?? '', ...(body.get('next') ? { next: body.get('next') } : {}) }) };
  }
  let json: unknown;
  try {
    json = JSON.parse((await req.text()).slice(0, 4096));
  } catch {
    json = undefined;
  }
  return { form: false, parsed: input.safeParse(json) };
}

export async function POST(req: Request): Promise<Response> {
  const operatorConsole = await getOperatorConsole();
  if (!operatorConsole) return NextResponse.json({ error: 'The operator console is switched off' }, { status: 404 });
  const { form, parsed } = await readInput(req);
  const back = (error: string, next?: string) => seeOther(`/admin/sign-in?error=${error}${next ? `&next=${encodeURIComponent(safeNext(next))}` : ''}`);
  if (!parsed.success) {
    return form ? back('missing') : NextResponse.json({ error: 'Send { "password": "…" }', zodError: z.flattenError(parsed.error) }, { status: 400 });
  }

  const result = await signIn(parsed.data.password, clientKey(req.headers.get('x-forwarded-for')), operatorConsole);
  if (result.outcome === 'throttled') {
    const retryAfter = String(Math.ceil(result.retryAfterMs / 1000));
    const res = form ? back('throttled', parsed.data.next) : NextResponse.json({ error: 'Too many failed sign-ins; try again later', retryAfterSeconds: Number(retryAfter) }, { status: 429 });
    res.headers.set('Retry-After', retryAfter);
    return res;
  }
  if (result.outcome === 'invalid') {
    return form ? back('invalid', parsed.data.next) : NextResponse.json({ error: 'Wrong password' }, { status: 401 });
  }
  const res = form
    ? seeOther(safeNext(parsed.data.next))
    : NextResponse.json({ signedIn: true, expiresAt: result.expiresAt.toISOString() });
  res.headers.append('Set-Cookie', sessionCookie(result.token, result.expiresAt, operatorConsole.secureCookies));
  res.headers.set('Cache-Control', 'no-store');
  return res;
}
