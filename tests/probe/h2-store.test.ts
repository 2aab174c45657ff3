/**
 * The H2 file store the local MongoDB server keeps (`--backend h2`, the
 * one-command start's database): its unique indexes are kept by their keys'
 * serialized bytes (scripts/mongo-server/MongoLauncher.java,
 * SerializedKeyIndex). A store written in the library's own format is
 * converted when the server opens it, and the indexes keep answering and
 * refusing duplicates after the conversion and after a restart; a conversion
 * killed midway is finished at the next start.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ProcessGroup, ROOT, startProcess, stopProcess, waitForOutput, type Managed } from '../setup/processes';
import { database, errorOf, isDuplicateKey, openConnection } from './probe-helpers';

const dataDir = mkdtempSync(path.join(tmpdir(), 'h2-store-'));
const group = new ProcessGroup();
let classpath = '';
let port = 0;

const DOCS = 300;
interface StoredOrder {
  _id: string;
  key: string;
  n: number;
  state: string;
}

const orders = (conn: Connection) => database(conn).collection<StoredOrder>('orders');
const docs: StoredOrder[] = Array.from({ length: DOCS }, (_, i) => ({ _id: `order-${String(i).padStart(4, '0')}`, key: `key-${i}`, n: i, state: 'CREATED' }));

function java(name: string, program: string, args: string[]): Managed {
  return group.add(startProcess(`h2-store/${name}`, 'java', ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-cp', classpath, program, ...args], process.env));
}

/** Starts a server on the store, runs fn against it, stops it cleanly (the store is committed on SIGTERM). */
async function withServer(kind: 'legacy' | 'launcher', file: string, fn: (conn: Connection) => Promise<void>): Promise<void> {
  const proc =
    kind === 'legacy'
      ? java('legacy', 'tests/probe/LegacyH2Server.java', [String(port), file])
      : java('launcher', 'scripts/mongo-server/MongoLauncher.java', ['--port', String(port), '--backend', 'h2', '--file', file]);
  await waitForOutput(proc, kind === 'legacy' ? 'legacy ready' : 'MongoLauncher ready', 90_000);
  const conn = await openConnection(`mongodb://127.0.0.1:${port}/store`, 'store');
  try {
    await fn(conn);
  } finally {
    await conn.close();
    await stopProcess(proc, 'SIGTERM', 20_000);
  }
}

/** Every document written (`count` stored in all) is found by its _id, by its unique key and by an _id plus a condition; duplicates are refused. */
async function expectIndexesWork(conn: Connection, count: number): Promise<void> {
  const stored = orders(conn);
  expect(await stored.countDocuments()).toBe(count);
  for (let i = 0; i < DOCS; i++) {
    const id = `order-${String(i).padStart(4, '0')}`;
    expect(await stored.findOne({ _id: id })).toMatchObject({ key: `key-${i}`, n: i });
    expect(await stored.findOne({ key: `key-${i}` })).toMatchObject({ _id: id });
    expect(await stored.findOne({ _id: id, state: 'CREATED' })).toMatchObject({ n: i });
  }
  expect(await stored.countDocuments({ _id: { $in: ['order-0001', 'order-0002', 'missing'] } })).toBe(2);
  // A regular expression on an indexed field reads every entry of the index back.
  expect(await stored.countDocuments({ _id: /^order-00[0-4]/ })).toBe(50);
  expect(isDuplicateKey(await errorOf(() => stored.insertOne({ _id: 'order-0005', key: 'fresh', n: -1, state: 'CREATED' })))).toBe(true);
  expect(isDuplicateKey(await errorOf(() => stored.insertOne({ _id: 'fresh', key: 'key-7', n: -1, state: 'CREATED' })))).toBe(true);
  // A conditional update moves the key: the old one is free again, the new one taken.
  expect((await stored.updateOne({ _id: 'order-0009', state: 'CREATED' }, { $set: { key: 'moved-9' } })).modifiedCount).toBe(1);
  await stored.insertOne({ _id: `reuse-${count}`, key: 'key-9', n: -2, state: 'CREATED' });
  expect(isDuplicateKey(await errorOf(() => stored.insertOne({ _id: 'other', key: 'moved-9', n: -3, state: 'CREATED' })))).toBe(true);
  await stored.deleteOne({ _id: `reuse-${count}` });
  await stored.updateOne({ _id: 'order-0009' }, { $set: { key: 'key-9' } });
}

/** A store written by the library itself: the orders with a unique index on `key`. */
async function legacyStore(name: string): Promise<string> {
  const file = path.join(dataDir, name);
  await withServer('legacy', file, async (conn) => {
    await orders(conn).createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
    await orders(conn).insertMany(docs);
    await expectIndexesWork(conn, DOCS);
  });
  return file;
}

beforeAll(async () => {
  const classpathFile = path.join(ROOT, '.run', 'mongo-classpath.txt');
  if (!existsSync(classpathFile)) throw new Error(`${classpathFile} is missing: run \`bash scripts/services/services.sh up test\` (npm test does)`);
  classpath = readFileSync(classpathFile, 'utf8').trim();
  port = Number(process.env.TEST_H2_STORE_PORT) || (await freePort());
});

afterAll(async () => {
  await group.stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the H2 store of the local MongoDB server', () => {
  it('opens a store written in the library’s own index format, converts its unique indexes and keeps them after a restart', async () => {
    const file = await legacyStore('converted.mv');
    await withServer('launcher', file, async (conn) => {
      await expectIndexesWork(conn, DOCS);
      await orders(conn).insertOne({ _id: 'order-9999', key: 'key-9999', n: 9999, state: 'CREATED' });
    });
    await withServer('launcher', file, async (conn) => {
      await expectIndexesWork(conn, DOCS + 1);
      expect(await orders(conn).findOne({ key: 'key-9999' })).toMatchObject({ _id: 'order-9999' });
      // Dropping the collection drops its indexes: a new one under the same name starts empty.
      await orders(conn).drop();
      const again = orders(conn);
      await again.createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
      await again.insertOne({ _id: 'order-0001', key: 'key-1', n: 1, state: 'CREATED' });
      expect(await again.countDocuments()).toBe(1);
    });
  }, 300_000);

  it('finishes a conversion that was killed midway: the partly filled index is completed from the old one', async () => {
    const file = await legacyStore('interrupted.mv');
    const interrupt = java('interrupt', 'tests/probe/LegacyH2Server.java', ['--interrupt-conversion', file, String(DOCS / 3)]);
    await waitForOutput(interrupt, 'conversion interrupted', 90_000);
    await stopProcess(interrupt, 'SIGTERM', 20_000);
    // Not empty, so the library would not rebuild it from the documents: only the conversion fills it.
    await withServer('launcher', file, (conn) => expectIndexesWork(conn, DOCS));
    await withServer('launcher', file, (conn) => expectIndexesWork(conn, DOCS));
  }, 300_000);
});
