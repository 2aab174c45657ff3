/**
 * Signing in and out of the operator console, and recognising a signed-in
 * operator. Transports (the sign-in route, the tRPC admin procedures, the
 * Bull Board route, the console's pages) call these and only map the result.
 */
import { logger } from '../logger';
import { verifyPassword, type OperatorCredential } from './credentials';
import type { LoginThrottle } from './login-throttle';
import { closeSession, findSession, openSession, type OperatorSession } from './sessions';
import { sessionTokenFrom } from './session-cookie';

export interface SignInDeps {
  credential: OperatorCredential;
  throttle: LoginThrottle;
  sessionTtlMs: number;
}

export type SignInResult =
  | { outcome: 'signed-in'; token: string; expiresAt: Date }
  | { outcome: 'invalid' }
  | { outcome: 'throttled'; retryAfterMs: number };

export async function signIn(password: string, client: string, deps: SignInDeps): Promise<SignInResult> {
  // Checked before the password, so a throttled client learns nothing, not even from timing.
  const verdict = await deps.throttle.check(client);
  if (!verdict.allowed) {
    logger.warn({ action: 'admin-sign-in', client, outcome: 'refused' }, 'operator sign-in throttled');
    return { outcome: 'throttled', retryAfterMs: verdict.retryAfterMs };
  }
  if (!(await verifyPassword(password, deps.credential.hash))) {
    await deps.throttle.recordFailure(client);
    logger.warn({ action: 'admin-sign-in', client, outcome: 'refused' }, 'operator sign-in with a wrong password');
    return { outcome: 'invalid' };
  }
  const session = await openSession(deps.credential, deps.sessionTtlMs);
  logger.info({ action: 'admin-sign-in', client, outcome: 'applied', expiresAt: session.expiresAt }, 'operator signed in');
  return { outcome: 'signed-in', ...session };
}

export async function signOut(cookieHeader: string | null | undefined): Promise<void> {
  await closeSession(sessionTokenFrom(cookieHeader));
}

/** The operator session a request's cookies carry, or null. */
export function operatorSession(cookieHeader: string | null | undefined, credential: OperatorCredential): Promise<OperatorSession | null> {
  return findSession(sessionTokenFrom(cookieHeader), credential);
}
