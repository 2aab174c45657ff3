/**
 * The operator console's password: how it is stored, how an attempt is
 * checked, and where it comes from.
 *
 * Stored as an scrypt hash `scrypt:<log2 N>:<r>:<p>:<salt>:<key>` (base64url;
 * no `$`, so it survives shells, .env files and docker-compose unquoted). An
 * attempt is hashed with the stored salt and parameters and compared in
 * constant time; scrypt's cost (~100 ms, 32 MiB at the defaults) is also what
 * makes each guess slow.
 *
 * Sources, in order: ADMIN_PASSWORD_HASH; ADMIN_PASSWORD (hashed here, with a
 * salt fixed per installation so every process derives the same hash); in
 * development and test only, a password generated once and kept in
 * `.data/admin-password` (shared by every process of the checkout). Production
 * refuses to start without one of the first two (config.ts).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';

export interface PasswordHash {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

export interface OperatorCredential {
  hash: PasswordHash;
  /**
   * Names this password without revealing it (a digest of its scrypt hash).
   * Sessions record it, so changing the password ends every session opened
   * with the old one.
   */
  fingerprint: string;
  source: 'ADMIN_PASSWORD_HASH' | 'ADMIN_PASSWORD' | 'generated';
  /** Where a generated development password is kept. */
  file?: string;
  /** A generated development password, so the web app can print it at start. */
  generated?: string;
}

const DEFAULT_PARAMS = { logN: 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
/** The password file of a development checkout (.data/ is git-ignored). */
export const GENERATED_PASSWORD_FILE = path.join('.data', 'admin-password');

function derive(password: string, salt: Buffer, params: Pick<PasswordHash, 'logN' | 'r' | 'p'>, keyBytes = KEY_BYTES): Promise<Buffer> {
  const N = 2 ** params.logN;
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly the default cost, so leave room.
  const opts: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export function formatPasswordHash(h: PasswordHash): string {
  return ['scrypt', h.logN, h.r, h.p, h.salt.toString('base64url'), h.key.toString('base64url')].join(':');
}

/** Hashes a password for ADMIN_PASSWORD_HASH (a fresh random salt unless one is given). */
export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  return formatPasswordHash({ ...DEFAULT_PARAMS, salt, key: await derive(password, salt, DEFAULT_PARAMS) });
}

export function parsePasswordHash(text: string): PasswordHash {
  const [scheme, logN, r, p, salt, key, ...rest] = text.split(':');
  const n = (v: string | undefined, min: number, max: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) throw new Error(`password hash parameter ${String(v)} is out of range ${min}..${max}`);
    return x;
  };
  if (scheme !== 'scrypt' || !salt || !key || rest.length > 0) throw new Error('password hash must look like scrypt:<logN>:<r>:<p>:<salt>:<key>');
  // Bounded so that a hash from configuration cannot make every attempt cost minutes or gigabytes.
  return { logN: n(logN, 14, 20), r: n(r, 1, 16), p: n(p, 1, 4), salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

/** Whether `attempt` is the password: recomputed with the stored salt and compared in constant time. */
export async function verifyPassword(attempt: string, stored: PasswordHash): Promise<boolean> {
  const key = await derive(attempt, stored.salt, stored, stored.key.length);
  return timingSafeEqual(key, stored.key);
}

const fingerprintOf = (h: PasswordHash) => createHash('sha256').update(formatPasswordHash(h)).digest('hex').slice(0, 16);

/** A password given in clear gets a salt that depends only on the installation's database, so all processes agree. */
async function fromPlain(password: string, installation: string): Promise<PasswordHash> {
  const salt = createHash('sha256').update(`resilient-orders operator console ${installation}`).digest().subarray(0, 16);
  return parsePasswordHash(await hashPassword(password, salt));
}

/** Reads the development password, creating it on first use (two processes starting at once agree on one). */
async function generatedPassword(root: string): Promise<{ password: string; file: string }> {
  const file = path.join(root, GENERATED_PASSWORD_FILE);
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, `${randomBytes(18).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const password = (await readFile(file, 'utf8')).trim();
  if (password.length < 12) throw new Error(`${file} holds no usable password (delete it to get a new one)`);
  return { password, file };
}

export async function loadOperatorCredential(
  config: Pick<Config, 'APP_ENV' | 'ADMIN_PASSWORD_HASH' | 'ADMIN_PASSWORD' | 'MONGODB_URI'>,
  root = process.cwd(),
): Promise<OperatorCredential> {
  if (config.ADMIN_PASSWORD_HASH) {
    const hash = parsePasswordHash(config.ADMIN_PASSWORD_HASH);
    return { hash, fingerprint: fingerprintOf(hash), source: 'ADMIN_PASSWORD_HASH' };
  }
  if (config.ADMIN_PASSWORD) {
    const hash = await fromPlain(config.ADMIN_PASSWORD, config.MONGODB_URI);
    return { hash, fingerprint: fingerprintOf(hash), source: 'ADMIN_PASSWORD' };
  }
  // config.ts refuses this combination already; this keeps it impossible even if that check moves.
  if (config.APP_ENV === 'production') throw new Error('ADMIN_PASSWORD_HASH is required when APP_ENV=production');
  const { password, file } = await generatedPassword(root);
  const hash = await fromPlain(password, config.MONGODB_URI);
  return { hash, fingerprint: fingerprintOf(hash), source: 'generated', file, generated: password };
}
