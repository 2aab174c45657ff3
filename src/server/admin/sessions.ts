/**
 * Operator sessions, kept server-side (prisma-free-models/admin-session.ts):
 * the cookie carries a random 256-bit token, the database only its digest.
 * A session is valid while it exists, has not expired and was opened with
 * the current password; signing out deletes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AdminSession } from '../../../prisma-free-models/admin-session';
import type { OperatorCredential } from './credentials';

export interface OperatorSession {
  expiresAt: Date;
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export async function openSession(credential: OperatorCredential, ttlMs: number, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
  // Expired sessions go here rather than on every read; MongoDB's TTL index does it too where it is honoured.
  await AdminSession.deleteMany({ expiresAt: { $lte: now } });
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlMs);
  await AdminSession.create({ _id: digest(token), credential: credential.fingerprint, createdAt: now, expiresAt });
  return { token, expiresAt };
}

/** The session a token names, or null (malformed, unknown, expired, or opened with another password). */
export async function findSession(token: string | null | undefined, credential: OperatorCredential, now = new Date()): Promise<OperatorSession | null> {
  if (!token || !TOKEN_PATTERN.test(token)) return null;
  const session = await AdminSession.findOne(
    { _id: digest(token), credential: credential.fingerprint, expiresAt: { $gt: now } },
    { expiresAt: 1 },
  ).lean<{ expiresAt: Date }>();
  return session ? { expiresAt: session.expiresAt } : null;
}

export async function closeSession(token: string | null | undefined): Promise<void> {
  if (!token || !TOKEN_PATTERN.test(token)) return;
  await AdminSession.deleteOne({ _id: digest(token) });
}
