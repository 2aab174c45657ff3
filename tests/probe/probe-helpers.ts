/**
 * Helpers for the MongoDB semantics probe (mongo-semantics.test.ts): which
 * servers to probe, a private connection per target, and how to drive
 * scripts/services/services.sh from a test.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';

export const REPO = path.resolve(__dirname, '../..');
const SERVICES = path.join(REPO, 'scripts', 'services', 'services.sh');

export interface ProbeTarget {
  label: string;
  uri: string;
  /** Set when the target is a server scripts/services/services.sh manages for that profile. */
  profile?: 'dev' | 'test';
}

/**
 * The test profile's server (or MONGODB_URI) always; the dev profile's H2-backed server
 * only with PROBE_DEV=1, because that part restarts the dev services.
 */
export function probeTargets(): ProbeTarget[] {
  const uri = process.env.PROBE_MONGODB_URI ?? process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27090/probe';
  const targets: ProbeTarget[] = [{ label: `MONGODB_URI ${hostOf(uri)}`, uri }];
  if (process.env.PROBE_DEV === '1') {
    targets.push({ label: 'dev profile (H2 backend) 127.0.0.1:27017', uri: 'mongodb://127.0.0.1:27017/probe', profile: 'dev' });
  }
  return targets;
}

function hostOf(uri: string): string {
  return uri.replace(/^mongodb(\+srv)?:\/\/([^@/]*@)?/, '').split('/')[0] ?? uri;
}

/** A database name no other run uses, so the probe never touches real data. */
export function uniqueDbName(prefix = 'probe'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function openConnection(uri: string, dbName: string, extra: mongoose.ConnectOptions = {}): Promise<Connection> {
  return mongoose
    .createConnection(uri, { dbName, serverSelectionTimeoutMS: 5_000, autoIndex: false, autoCreate: false, ...extra })
    .asPromise();
}

export function database(conn: Connection): mongoose.mongo.Db {
  const db = conn.db;
  if (!db) throw new Error('mongoose connection has no db (not connected)');
  return db;
}

/** Runs fn and returns what it threw; fails the test if it did not throw. */
export async function errorOf(fn: () => Promise<unknown>): Promise<Error & { code?: unknown; codeName?: unknown }> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error('expected an error, but the call succeeded');
}

/** What every duplicate-key check in the app relies on: code 11000, nothing else. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}

/** Settles every promise and counts outcomes (for the concurrency checks). */
export async function settleAll<T>(tasks: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(tasks);
  const values: T[] = [];
  const errors: unknown[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') values.push(r.value);
    else errors.push(r.reason);
  }
  return { values, errors };
}

/**
 * Runs `services.sh <command> <profile>` as a developer would. MONGODB_URI and REDIS_URL
 * are removed from its environment: with them set the script would treat those services
 * as external and leave them alone.
 */
export function services(command: 'up' | 'down' | 'status', profile: 'dev' | 'test'): string {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MONGODB_URI;
  delete env.REDIS_URL;
  return execFileSync('bash', [SERVICES, command, profile], {
    cwd: REPO,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
}
