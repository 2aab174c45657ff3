/**
 * How the console's server-rendered pages reach the admin procedures: through
 * the same tRPC router as any client (a caller with this request's headers,
 * so the same session check), and to the sign-in page when there is no
 * session or it ended mid-way.
 */
import { TRPCError } from '@trpc/server';
import { headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { getOperatorConsole } from '@/server/admin/operator-console';
import { operatorSession } from '@/server/admin/sign-in';
import { createCaller } from '@/server/api/root';
import { createContext } from '@/server/api/trpc';

type AdminCaller = ReturnType<typeof createCaller>['admin'];

const signInFor = (next: string) => `/admin/sign-in?next=${encodeURIComponent(next)}`;

/** The signed-in operator's session, or null. */
export async function currentOperator() {
  const operatorConsole = await getOperatorConsole();
  if (!operatorConsole) notFound();
  return operatorSession((await headers()).get('cookie'), operatorConsole.credential);
}

/** Runs admin procedures as this request's operator; without a session, to the sign-in page and back to `next`. */
export async function asOperator<T>(next: string, run: (admin: AdminCaller) => Promise<T>): Promise<T> {
  const caller = createCaller(createContext({ headers: new Headers(await headers()) }));
  try {
    return await run(caller.admin);
  } catch (err) {
    if (err instanceof TRPCError && err.code === 'UNAUTHORIZED') redirect(signInFor(next));
    if (err instanceof TRPCError && err.code === 'NOT_FOUND') notFound();
    throw err;
  }
}

/** A date for operators: UTC, to the second, the same on every screen. */
export function utc(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '—';
}
