/**
 * Which MongoDB guarantees hold on the server we test against.
 *
 * The order system relies only on what real MongoDB guarantees without
 * transactions: atomic conditional updates of one document and unique
 * indexes. This probe proves those against the local mongo-java-server
 * (scripts/mongo-server) with mongoose 9 / driver 7, and pins down the gaps we
 * must not depend on. Tests named "GAP:" assert mongo-java-server 1.47.0's
 * actual (non-MongoDB) behaviour and are skipped on a real MongoDB; when one
 * fails after an upgrade, the gap has closed.
 *
 *   bash scripts/services/services.sh up test
 *   MONGODB_URI=mongodb://127.0.0.1:27090/probe npx vitest run tests/probe
 *   # also the H2 backend (dev profile), including a `services.sh down dev && up dev` restart:
 *   PROBE_DEV=1 npx vitest run tests/probe
 *
 * Every run uses its own database (probe_<time>_<random>) and drops it at the end.
 * (One file on purpose, longer than our usual ~300 lines: one run gives the whole feature
 * matrix per server, and each server's block shares one connection and facts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Schema, type Connection } from 'mongoose';
import {
  database,
  errorOf,
  isDuplicateKey,
  openConnection,
  probeTargets,
  services,
  settleAll,
  uniqueDbName,
  type ProbeTarget,
} from './probe-helpers';

interface Hold {
  orderId: string;
  qty: number;
}
interface ProductDoc {
  sku: string;
  available: number;
  reserved: number;
  holds: Hold[];
}
interface OperatorsDoc {
  key: string;
  n: number;
  gone?: boolean;
  old?: number;
  renamed?: number;
  hi?: number;
  lo?: number;
  at?: Date;
  arr?: number[];
}
interface OrderDoc {
  _id: string;
  state: string;
  history: { from: string; to: string; at: Date }[];
  idempotencyKey?: string;
}

describe.each(probeTargets())('MongoDB semantics on $label', (target: ProbeTarget) => {
  let conn: Connection;
  let dbName: string;
  /** mongo-java-server answers serverStatus with process "java"; real mongod says "mongod". */
  let javaServer = false;
  let isMaster: Record<string, unknown> = {};

  const db = () => database(conn);
  const products = () => db().collection<ProductDoc>('products');
  const orders = () => db().collection<OrderDoc>('orders');

  beforeAll(async () => {
    if (target.profile) services('up', target.profile); // idempotent: a no-op when it already runs
    dbName = uniqueDbName();
    conn = await openConnection(target.uri, dbName);
    const status = await db().admin().command({ serverStatus: 1 });
    javaServer = status.process === 'java';
    isMaster = await db().admin().command({ isMaster: 1 });
  }, 300_000);

  afterAll(async () => {
    if (!conn) return;
    await conn.dropDatabase();
    await conn.close();
  });

  // ---------------------------------------------------------------------------------------------
  describe('1. connection and handshake', () => {
    it('connects with mongoose 9 (driver 7) and answers ping', async () => {
      expect(conn.readyState).toBe(1);
      await expect(db().admin().command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
      // the driver 7 line refuses servers below wire version 9 (MongoDB 4.4)
      expect(Number(isMaster.maxWireVersion)).toBeGreaterThanOrEqual(9);
    });

    it('GAP: no `hello` command (59 CommandNotFound); the driver falls back to isMaster', async (ctx) => {
      if (!javaServer) ctx.skip();
      const err = await errorOf(() => db().admin().command({ hello: 1 }));
      expect(err).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
      expect(isMaster).toMatchObject({ ismaster: true, maxWireVersion: 13, minWireVersion: 0 });
      // no helloOk, setName, or logicalSessionTimeoutMinutes: a standalone without sessions
      expect(isMaster.helloOk).toBeUndefined();
      expect(isMaster.setName).toBeUndefined();
      expect(isMaster.logicalSessionTimeoutMinutes).toBeUndefined();
    });

    it('GAP: no sessions, so no transactions and no retryable writes', async (ctx) => {
      if (!javaServer) ctx.skip();
      const session = conn.getClient().startSession();
      try {
        const err = await errorOf(() => orders().findOne({}, { session }));
        expect(err.message).toMatch(/does not support sessions/);
      } finally {
        await session.endSession();
      }
    });

    it('write concern w:majority/j:true is accepted (and ignored)', async () => {
      const res = await orders().insertOne({ _id: 'wc-majority', state: 'A', history: [] }, { writeConcern: { w: 'majority', j: true } });
      expect(res.acknowledged).toBe(true);
    });

    it('GAP: unacknowledged writes (w:0, OP_MSG moreToCome) are dropped and the connection closed', async (ctx) => {
      if (!javaServer) ctx.skip();
      const side = await openConnection(target.uri, dbName, { maxPoolSize: 1 });
      try {
        const sideOrders = database(side).collection<OrderDoc>('orders');
        const res = await sideOrders.insertOne({ _id: 'w0', state: 'A', history: [] }, { writeConcern: { w: 0 } });
        expect(res.acknowledged).toBe(false);
        await new Promise((r) => setTimeout(r, 300));
        expect(await orders().countDocuments({ _id: 'w0' })).toBe(0);
      } finally {
        await side.close();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('2. unique indexes', () => {
    it('createIndexes: unique, unique partial and unique sparse indexes are created and listed', async () => {
      const c = db().collection('idx_listing');
      await c.createIndex({ key: 1 }, { unique: true });
      await c.createIndex({ idem: 1 }, { unique: true, partialFilterExpression: { idem: { $type: 'string' } } });
      await c.createIndex({ pi: 1 }, { unique: true, sparse: true });
      const indexes = await c.listIndexes().toArray();
      expect(indexes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'key_1', unique: true }),
          expect.objectContaining({ name: 'idem_1', unique: true, partialFilterExpression: { idem: { $type: 'string' } } }),
          expect.objectContaining({ name: 'pi_1', unique: true, sparse: true }),
        ]),
      );
    });

    it('unique index: the second insert with the same key fails with code 11000', async () => {
      const c = db().collection('idx_unique');
      await c.createIndex({ key: 1 }, { unique: true });
      await c.insertOne({ key: 'k1' });
      const err = await errorOf(() => c.insertOne({ key: 'k1' }));
      expect(isDuplicateKey(err)).toBe(true);
      expect(err).toMatchObject({ code: 11000, codeName: 'DuplicateKey' });
      expect(err.message).toMatch(/E11000 duplicate key error .* index: key_1 dup key/);
      // an update that would create the duplicate fails the same way
      await c.insertOne({ key: 'k2' });
      expect(isDuplicateKey(await errorOf(() => c.updateOne({ key: 'k2' }, { $set: { key: 'k1' } })))).toBe(true);
      expect(await c.countDocuments({ key: 'k1' })).toBe(1);
    });

    it('GAP: duplicate-key errors carry no keyPattern/keyValue (match on code 11000 and the index name in the message)', async (ctx) => {
      if (!javaServer) ctx.skip();
      const c = db().collection('idx_unique_shape');
      await c.createIndex({ key: 1 }, { unique: true });
      await c.insertOne({ key: 'x' });
      const err = (await errorOf(() => c.insertOne({ key: 'x' }))) as Error & { keyPattern?: unknown; keyValue?: unknown };
      expect(err.keyPattern).toBeUndefined();
      expect(err.keyValue).toBeUndefined();
    });

    it('compound unique index and building a unique index over duplicates (11000) work', async () => {
      const c = db().collection('idx_compound');
      await c.createIndex({ a: 1, b: 1 }, { unique: true });
      await c.insertMany([{ a: 1, b: 1 }, { a: 1, b: 2 }]);
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ a: 1, b: 1 })))).toBe(true);

      const d = db().collection('idx_build_over_dups');
      await d.insertMany([{ v: 1 }, { v: 1 }]);
      expect(isDuplicateKey(await errorOf(() => d.createIndex({ v: 1 }, { unique: true })))).toBe(true);
    });

    it('unique partial index: a second document with the same string key fails with 11000', async () => {
      const c = db().collection<OrderDoc>('idx_partial_orders');
      await c.createIndex({ idempotencyKey: 1 }, { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } });
      await c.insertOne({ _id: 'p1', state: 'A', history: [], idempotencyKey: 'idem-1' });
      const err = await errorOf(() => c.insertOne({ _id: 'p2', state: 'A', history: [], idempotencyKey: 'idem-1' }));
      expect(isDuplicateKey(err)).toBe(true);
    });

    it('unique partial index: documents without the field do not collide (real MongoDB)', async (ctx) => {
      if (javaServer) ctx.skip(); // see the GAP test below
      const c = db().collection('idx_partial_missing');
      await c.createIndex({ idempotencyKey: 1 }, { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } });
      await c.insertMany([{ n: 1 }, { n: 2 }, { n: 3, idempotencyKey: null }, { n: 4, idempotencyKey: null }]);
      expect(await c.countDocuments()).toBe(4);
    });

    it('GAP: partialFilterExpression is stored but ignored: documents without the field (or null, or a number) DO collide', async (ctx) => {
      if (!javaServer) ctx.skip();
      const c = db().collection('idx_partial_missing');
      await c.createIndex({ idempotencyKey: 1 }, { unique: true, partialFilterExpression: { idempotencyKey: { $type: 'string' } } });
      await c.insertOne({ n: 1 });
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ n: 2 })))).toBe(true); // missing == null
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ n: 3, idempotencyKey: null })))).toBe(true);
      await c.insertOne({ n: 4, idempotencyKey: 5 });
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ n: 5, idempotencyKey: 5 })))).toBe(true); // not a string, still indexed
    });

    it('portable replacement: a unique SPARSE index lets documents without the field coexist (explicit null collides, as on MongoDB)', async () => {
      const c = db().collection('idx_sparse');
      await c.createIndex({ idempotencyKey: 1 }, { unique: true, sparse: true });
      await c.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
      await c.insertOne({ n: 4, idempotencyKey: 'idem-1' });
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ n: 5, idempotencyKey: 'idem-1' })))).toBe(true);
      await c.insertOne({ n: 6, idempotencyKey: null });
      expect(isDuplicateKey(await errorOf(() => c.insertOne({ n: 7, idempotencyKey: null })))).toBe(true);
      expect(await c.countDocuments()).toBe(5);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('3. conditional state transition with findOneAndUpdate', () => {
    it('returns the updated document when the state matches, null when it does not', async () => {
      const schema = new Schema<OrderDoc>(
        { _id: String, state: String, history: [new Schema({ from: String, to: String, at: Date }, { _id: false })] },
        { versionKey: false },
      );
      const Order = conn.model<OrderDoc>('ProbeOrder', schema, 'orders');
      await Order.create({ _id: 'fsm-1', state: 'A', history: [] });

      const moved = await Order.findOneAndUpdate(
        { _id: 'fsm-1', state: 'A' },
        { $set: { state: 'B' }, $push: { history: { from: 'A', to: 'B', at: new Date() } } },
        { returnDocument: 'after' },
      ).lean();
      expect(moved).toMatchObject({ _id: 'fsm-1', state: 'B', history: [{ from: 'A', to: 'B' }] });

      const again = await Order.findOneAndUpdate({ _id: 'fsm-1', state: 'A' }, { $set: { state: 'B' } }, { returnDocument: 'after' }).lean();
      expect(again).toBeNull();

      // returnDocument: 'before' gives the pre-image; includeResultMetadata exposes lastErrorObject
      const before = await Order.findOneAndUpdate({ _id: 'fsm-1', state: 'B' }, { $set: { state: 'C' } }, { returnDocument: 'before' }).lean();
      expect(before?.state).toBe('B');
      const raw = await orders().findOneAndUpdate({ _id: 'fsm-1', state: 'C' }, { $set: { state: 'D' } }, { returnDocument: 'after', includeResultMetadata: true });
      expect(raw).toMatchObject({ ok: 1, value: { state: 'D' }, lastErrorObject: { updatedExisting: true, n: 1 } });
    });

    it('20 concurrent transitions A -> B: exactly one wins', async () => {
      await orders().insertOne({ _id: 'fsm-race', state: 'A', history: [] });
      const attempts = Array.from({ length: 20 }, (_, i) =>
        orders().findOneAndUpdate(
          { _id: 'fsm-race', state: 'A' },
          { $set: { state: 'B' }, $push: { history: { from: 'A', to: `B${i}`, at: new Date() } } },
          { returnDocument: 'after' },
        ),
      );
      const { values, errors } = await settleAll(attempts);
      expect(errors).toEqual([]);
      expect(values.filter((v) => v !== null)).toHaveLength(1);
      expect((await orders().findOne({ _id: 'fsm-race' }))?.history).toHaveLength(1);
    });
  });

  // The local server reads these through the _id index (scripts/mongo-server/MongoLauncher.java):
  // the answers must be MongoDB's, whatever else the query asks.
  describe('3b. queries on an _id plus other conditions', () => {
    it('find, update, count and delete see only the named documents that meet every condition', async () => {
      const c = db().collection<{ _id: string; state: string; n: number; tags?: string[] }>('anchored');
      await c.insertMany([
        { _id: 'a1', state: 'A', n: 1, tags: ['x'] },
        { _id: 'a2', state: 'B', n: 2 },
        { _id: 'a3', state: 'A', n: 3, tags: ['y'] },
      ]);
      expect(await c.findOne({ _id: 'a1', state: 'A' })).toMatchObject({ n: 1 });
      expect(await c.findOne({ _id: 'a1', state: 'B' })).toBeNull();
      expect(await c.findOne({ _id: 'nope', state: 'A' })).toBeNull();
      expect((await c.find({ _id: { $in: ['a1', 'a2', 'a3', 'nope'] }, state: 'A' }).sort({ n: -1 }).toArray()).map((d) => d._id)).toEqual(['a3', 'a1']);
      expect(await c.countDocuments({ _id: { $in: ['a1', 'a2'] }, n: { $gte: 2 } })).toBe(1);
      expect(await c.findOne({ _id: 'a1', tags: { $ne: 'x' } })).toBeNull();
      expect(await c.findOne({ _id: 'a2', $or: [{ state: 'B' }, { n: 9 }] })).toMatchObject({ n: 2 });

      expect((await c.updateOne({ _id: 'a2', state: 'A' }, { $set: { n: 20 } })).matchedCount).toBe(0);
      expect((await c.updateOne({ _id: 'a2', state: 'B', n: { $lt: 5 } }, { $inc: { n: 10 } })).modifiedCount).toBe(1);
      expect((await c.updateMany({ _id: { $in: ['a1', 'a2', 'a3'] }, state: 'A' }, { $set: { state: 'C' } })).modifiedCount).toBe(2);
      // An upsert whose _id exists but whose other conditions do not hold tries to insert that _id: a duplicate, as on MongoDB.
      expect(isDuplicateKey(await errorOf(() => c.updateOne({ _id: 'a2', state: 'Z' }, { $set: { n: 0 } }, { upsert: true })))).toBe(true);
      expect((await c.deleteOne({ _id: 'a3', state: 'A' })).deletedCount).toBe(0);
      expect((await c.deleteOne({ _id: 'a3', state: 'C' })).deletedCount).toBe(1);
      expect(await c.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
        { _id: 'a1', state: 'C', n: 1, tags: ['x'] },
        { _id: 'a2', state: 'B', n: 12 },
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('4. stock holds on one product document', () => {
    const holdNe = (sku: string, orderId: string, q: number) =>
      products().updateOne(
        { sku, available: { $gte: q }, 'holds.orderId': { $ne: orderId } },
        { $inc: { available: -q, reserved: q }, $push: { holds: { orderId, qty: q } } },
      );
    const holdElemMatch = (sku: string, orderId: string, q: number) =>
      products().updateOne(
        { sku, available: { $gte: q }, holds: { $not: { $elemMatch: { orderId } } } },
        { $inc: { available: -q, reserved: q }, $push: { holds: { orderId, qty: q } } },
      );
    const releaseDotted = (sku: string, orderId: string, q: number) =>
      products().updateOne({ sku, 'holds.orderId': orderId }, { $inc: { available: q, reserved: -q }, $pull: { holds: { orderId } } });
    const releaseElemMatch = (sku: string, orderId: string, q: number) =>
      products().updateOne({ sku, holds: { $elemMatch: { orderId, qty: q } } }, { $inc: { available: q, reserved: -q }, $pull: { holds: { orderId } } });

    it.each([
      ['holds.orderId $ne / dotted release', holdNe, releaseDotted],
      ['$not $elemMatch / $elemMatch release', holdElemMatch, releaseElemMatch],
    ] as const)('%s: hold once, never twice, never beyond stock; release once', async (name, hold, release) => {
      const sku = `SKU-${name.length}-${Date.now()}`;
      await products().insertOne({ sku, available: 5, reserved: 0, holds: [] });

      const first = await hold(sku, 'o1', 3);
      expect([first.matchedCount, first.modifiedCount]).toEqual([1, 1]);
      const repeat = await hold(sku, 'o1', 3); // same order again: no double hold
      expect([repeat.matchedCount, repeat.modifiedCount]).toEqual([0, 0]);
      const tooMuch = await hold(sku, 'o2', 3); // only 2 left
      expect([tooMuch.matchedCount, tooMuch.modifiedCount]).toEqual([0, 0]);
      expect(await products().findOne({ sku }, { projection: { _id: 0 } })).toEqual({ sku, available: 2, reserved: 3, holds: [{ orderId: 'o1', qty: 3 }] });

      const released = await release(sku, 'o1', 3);
      expect([released.matchedCount, released.modifiedCount]).toEqual([1, 1]);
      const releasedAgain = await release(sku, 'o1', 3); // giving back twice is harmless
      expect([releasedAgain.matchedCount, releasedAgain.modifiedCount]).toEqual([0, 0]);
      expect(await products().findOne({ sku }, { projection: { _id: 0 } })).toEqual({ sku, available: 5, reserved: 0, holds: [] });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('5. concurrency', () => {
    it('50 concurrent holds (qty 1, distinct orders) on 10 available: exactly 10 succeed', async () => {
      const sku = `RACE-${Date.now()}`;
      await products().insertOne({ sku, available: 10, reserved: 0, holds: [] });
      const attempts = Array.from({ length: 50 }, (_, i) =>
        products().updateOne(
          { sku, available: { $gte: 1 }, 'holds.orderId': { $ne: `order-${i}` } },
          { $inc: { available: -1, reserved: 1 }, $push: { holds: { orderId: `order-${i}`, qty: 1 } } },
        ),
      );
      const { values, errors } = await settleAll(attempts);
      expect(errors).toEqual([]);
      expect(values.filter((r) => r.modifiedCount === 1)).toHaveLength(10);
      const product = await products().findOne({ sku });
      expect(product).toMatchObject({ available: 0, reserved: 10 });
      expect(product?.holds).toHaveLength(10);
      expect(new Set(product?.holds.map((h) => h.orderId)).size).toBe(10);
    });

    it('50 concurrent holds by the SAME order: exactly one succeeds', async () => {
      const sku = `RACE-SAME-${Date.now()}`;
      await products().insertOne({ sku, available: 10, reserved: 0, holds: [] });
      const attempts = Array.from({ length: 50 }, () =>
        products().updateOne(
          { sku, available: { $gte: 2 }, 'holds.orderId': { $ne: 'same-order' } },
          { $inc: { available: -2, reserved: 2 }, $push: { holds: { orderId: 'same-order', qty: 2 } } },
        ),
      );
      const { values } = await settleAll(attempts);
      expect(values.filter((r) => r.modifiedCount === 1)).toHaveLength(1);
      expect(await products().findOne({ sku }, { projection: { _id: 0, available: 1, reserved: 1 } })).toEqual({ available: 8, reserved: 2 });
    });

    it('20 concurrent inserts with the same unique key: exactly one succeeds, 19 fail with 11000', async () => {
      const c = db().collection('race_unique');
      await c.createIndex({ idempotencyKey: 1 }, { unique: true, sparse: true });
      const { values, errors } = await settleAll(Array.from({ length: 20 }, (_, i) => c.insertOne({ idempotencyKey: 'same-key', attempt: i })));
      expect(values).toHaveLength(1);
      expect(errors).toHaveLength(19);
      expect(errors.every(isDuplicateKey)).toBe(true);
      expect(await c.countDocuments({ idempotencyKey: 'same-key' })).toBe(1);
    });

    it('a collection whose `create` races its first writes and index builds keeps every document updatable', async () => {
      // A web process and a worker starting together on an empty database: mongoose sends `create`
      // for each model while the other process already builds indexes and inserts.
      for (let round = 0; round < 40; round++) {
        const name = `create_race_${round}`;
        const c = db().collection<{ _id: string; touched?: boolean }>(name);
        const ids = Array.from({ length: 8 }, (_, i) => `d${i}`);
        await Promise.all([
          ...Array.from({ length: 4 }, () => db().createCollection(name).catch(() => undefined)),
          c.createIndex({ k: 1 }, { unique: true, sparse: true }),
          ...ids.map((_id) => c.insertOne({ _id })),
        ]);
        for (const _id of ids) expect((await c.updateOne({ _id }, { $set: { touched: true } })).modifiedCount, `${name} ${_id}`).toBe(1);
      }
    });

    it('unique indexes built while documents are inserted: every insert succeeds and every index holds every document', async () => {
      // A web process building its indexes while a worker already writes to the same collection.
      const keys = ['a', 'b', 'c', 'd'] as const;
      for (let round = 0; round < 30; round++) {
        const c = db().collection<{ _id: string } & Record<string, unknown>>(`index_race_${round}`);
        await c.insertOne({ _id: 'first', a: -1, b: -1, c: -1, d: -1 }); // the collection exists; its indexes do not
        const docs = Array.from({ length: 24 }, (_, i) => ({ _id: `doc${i}`, a: i, b: i, c: i, d: i }));
        const { errors } = await settleAll<unknown>([
          ...keys.map((k) => c.createIndex({ [k]: 1 }, { unique: true })),
          ...docs.map((doc) => c.insertOne(doc)),
        ]);
        expect(errors, `round ${round}`).toEqual([]);
        // Were an index missing a document, its duplicate would get in.
        for (const [n, k] of keys.entries()) {
          const fresh = Object.fromEntries(keys.map((other) => [other, 1000 + n])); // unique in every other index
          const dup = await errorOf(() => c.insertOne({ ...fresh, _id: `dup-${k}`, [k]: 7 }));
          expect(isDuplicateKey(dup), `round ${round}: ${k} refuses a duplicate`).toBe(true);
        }
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('6. bulk writes, counting and aggregation', () => {
    it('bulkWrite (insert/update/updateMany/replace/delete/upsert) reports the right counts', async () => {
      const c = db().collection('bulk');
      await c.insertMany([{ k: 1 }, { k: 2 }, { k: 3 }]);
      const res = await c.bulkWrite([
        { insertOne: { document: { k: 4 } } },
        { updateOne: { filter: { k: 1 }, update: { $set: { a: 1 } } } },
        { updateMany: { filter: { k: { $gte: 3 } }, update: { $inc: { m: 1 } } } },
        { replaceOne: { filter: { k: 2 }, replacement: { k: 2, replaced: true } } },
        { deleteOne: { filter: { k: 3 } } },
        { updateOne: { filter: { k: 9 }, update: { $set: { u: 1 } }, upsert: true } },
      ]);
      expect(res).toMatchObject({ insertedCount: 1, matchedCount: 4, modifiedCount: 4, deletedCount: 1, upsertedCount: 1 });
      expect(await c.countDocuments()).toBe(4); // 3 + 1 inserted - 1 deleted + 1 upserted
      expect(await c.findOne({ k: 2 }, { projection: { _id: 0 } })).toEqual({ k: 2, replaced: true });
    });

    it('bulkWrite with a duplicate key: ordered stops at the error, unordered carries on', async () => {
      const c = db().collection('bulk_dup');
      await c.createIndex({ k: 1 }, { unique: true });
      await c.insertOne({ k: 0 });
      const ordered = await errorOf(() => c.insertMany([{ k: 1 }, { k: 0 }, { k: 2 }]));
      expect(isDuplicateKey(ordered)).toBe(true);
      expect(await c.countDocuments()).toBe(2);
      const unordered = await errorOf(() => c.insertMany([{ k: 3 }, { k: 0 }, { k: 4 }], { ordered: false }));
      expect(isDuplicateKey(unordered)).toBe(true);
      expect(await c.countDocuments()).toBe(4);
    });

    it('countDocuments (with filter, skip, limit) and estimatedDocumentCount', async () => {
      const c = db().collection('counting');
      await c.insertMany(Array.from({ length: 12 }, (_, i) => ({ i, even: i % 2 === 0 })));
      expect(await c.countDocuments({ even: true })).toBe(6);
      expect(await c.countDocuments({}, { skip: 10, limit: 5 })).toBe(2);
      expect(await c.estimatedDocumentCount()).toBe(12);
    });

    it('aggregate: $match, $unwind, $group/$sum, $sort, $project, $lookup, $facet', async () => {
      const c = db().collection('agg_orders');
      await c.insertMany([
        { status: 'paid', lines: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }] },
        { status: 'paid', lines: [{ sku: 'A', qty: 1 }] },
        { status: 'cancelled', lines: [{ sku: 'B', qty: 5 }] },
      ]);
      const bySku = await c
        .aggregate([
          { $match: { status: 'paid' } },
          { $unwind: '$lines' },
          { $group: { _id: '$lines.sku', qty: { $sum: '$lines.qty' }, orders: { $sum: 1 } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      expect(bySku).toEqual([
        { _id: 'A', qty: 3, orders: 2 },
        { _id: 'B', qty: 1, orders: 1 },
      ]);
      const byStatus = await c.aggregate([{ $group: { _id: '$status', n: { $sum: 1 } } }, { $sort: { _id: 1 } }]).toArray();
      expect(byStatus).toEqual([
        { _id: 'cancelled', n: 1 },
        { _id: 'paid', n: 2 },
      ]);
      const skus = db().collection('agg_skus');
      await skus.insertMany([{ sku: 'A', name: 'Apple' }, { sku: 'B', name: 'Banana' }]);
      const joined = await c
        .aggregate([
          { $match: { status: 'cancelled' } },
          { $unwind: '$lines' },
          { $lookup: { from: 'agg_skus', localField: 'lines.sku', foreignField: 'sku', as: 'product' } },
          { $project: { _id: 0, name: { $arrayElemAt: ['$product.name', 0] } } },
        ])
        .toArray();
      expect(joined).toEqual([{ name: 'Banana' }]);
      const facets = await c.aggregate([{ $facet: { total: [{ $count: 'n' }] } }]).toArray();
      expect(facets).toEqual([{ total: [{ n: 3 }] }]);
    });

    it('GAP: aggregate `let` variables are not supported (17276 Use of undefined variable)', async (ctx) => {
      if (!javaServer) ctx.skip();
      const err = await errorOf(() => db().collection('agg_orders').aggregate([{ $match: { $expr: { $eq: ['$status', '$$s'] } } }], { let: { s: 'paid' } }).toArray());
      expect(err).toMatchObject({ code: 17276 });
    });

    it('GAP: explain is not supported (59 CommandNotFound)', async (ctx) => {
      if (!javaServer) ctx.skip();
      expect(await errorOf(() => db().collection('agg_orders').find({}).explain())).toMatchObject({ code: 59 });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('7. update operators', () => {
    it('upsert with $setOnInsert: set on insert only', async () => {
      const c = db().collection('upserts');
      const first = await c.updateOne({ key: 'u1' }, { $setOnInsert: { createdBy: 'first' }, $set: { seen: 1 } }, { upsert: true });
      expect(first).toMatchObject({ upsertedCount: 1, matchedCount: 0 });
      const second = await c.updateOne({ key: 'u1' }, { $setOnInsert: { createdBy: 'second' }, $set: { seen: 2 } }, { upsert: true });
      expect(second).toMatchObject({ upsertedCount: 0, matchedCount: 1, modifiedCount: 1 });
      expect(await c.findOne({ key: 'u1' }, { projection: { _id: 0 } })).toEqual({ key: 'u1', createdBy: 'first', seen: 2 });
    });

    it('concurrent upserts on a unique key: one document, losers get 11000 (retry them as updates)', async () => {
      const c = db().collection('upsert_race');
      await c.createIndex({ key: 1 }, { unique: true });
      const { values, errors } = await settleAll(
        Array.from({ length: 10 }, (_, i) => c.updateOne({ key: 'r' }, { $setOnInsert: { first: i }, $inc: { hits: 1 } }, { upsert: true })),
      );
      expect(errors.every(isDuplicateKey)).toBe(true);
      expect(values.filter((v) => v.upsertedCount === 1)).toHaveLength(1);
      expect(await c.countDocuments({ key: 'r' })).toBe(1);
      expect((await c.findOne({ key: 'r' }))?.hits).toBe(values.length);
    });

    it('conditional $push upsert on _id (a customer\'s slots): creates the document, pushes while the condition holds, else collides with 11000', async () => {
      const c = db().collection<{ _id: string; slots: { cartId: string }[] }>('slot_upserts');
      const take = (cartId: string) =>
        c.updateOne({ _id: 'k', 'slots.cartId': { $ne: cartId }, 'slots.1': { $exists: false } }, { $push: { slots: { cartId } } }, { upsert: true });
      expect(await take('a')).toMatchObject({ upsertedCount: 1 });
      expect(await c.findOne({ _id: 'k' })).toEqual({ _id: 'k', slots: [{ cartId: 'a' }] });
      expect(await take('b')).toMatchObject({ modifiedCount: 1, upsertedCount: 0 });
      // Full (two slots), or the cart already has one: the filter misses and the insert collides on _id.
      expect(isDuplicateKey(await errorOf(() => take('c')))).toBe(true);
      expect(isDuplicateKey(await errorOf(() => take('a')))).toBe(true);
      expect((await c.findOne({ _id: 'k' }))?.slots).toEqual([{ cartId: 'a' }, { cartId: 'b' }]);
    });

    it('$addToSet (with $each) adds only missing values', async () => {
      const c = db().collection('sets');
      await c.insertOne({ key: 's', tags: ['a'] });
      expect(await c.updateOne({ key: 's' }, { $addToSet: { tags: { $each: ['a', 'b', 'b', 'c'] } } })).toMatchObject({ modifiedCount: 1 });
      expect(await c.updateOne({ key: 's' }, { $addToSet: { tags: 'a' } })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
      expect((await c.findOne({ key: 's' }))?.tags).toEqual(['a', 'b', 'c']);
    });

    it('arrayFilters ($[id]), all-positional $[] and positional $ with a dotted filter', async () => {
      const c = db().collection('arrays');
      await c.insertOne({ key: 'x', items: [{ s: 'x', q: 1 }, { s: 'y', q: 2 }] });
      const filtered = await c.updateOne({ key: 'x' }, { $inc: { 'items.$[it].q': 10 } }, { arrayFilters: [{ 'it.s': 'y' }] });
      expect(filtered.modifiedCount).toBe(1);
      await c.updateOne({ key: 'x' }, { $inc: { 'items.$[].q': 1 } });
      await c.updateOne({ key: 'x', 'items.s': 'x' }, { $set: { 'items.$.q': 99 } });
      expect((await c.findOne({ key: 'x' }))?.items).toEqual([
        { s: 'x', q: 99 },
        { s: 'y', q: 13 },
      ]);
    });

    it('$inc/$min/$max/$mul/$unset/$rename/$currentDate, $push with $each+$slice, $pull with a condition', async () => {
      const c = db().collection<OperatorsDoc>('operators');
      await c.insertOne({ key: 'o', n: 5, gone: true, old: 1 });
      await c.updateOne({ key: 'o' }, { $inc: { n: 1 }, $max: { hi: 3 }, $min: { lo: 1 }, $unset: { gone: '' }, $rename: { old: 'renamed' }, $currentDate: { at: true } });
      await c.updateOne({ key: 'o' }, { $mul: { n: 2 }, $push: { arr: { $each: [1, 2, 3, 4, 5], $slice: -4 } } });
      await c.updateOne({ key: 'o' }, { $pull: { arr: { $gte: 4 } } });
      const doc = await c.findOne({ key: 'o' }, { projection: { _id: 0 } });
      expect(doc).toMatchObject({ key: 'o', n: 12, hi: 3, lo: 1, renamed: 1, arr: [2, 3] });
      expect(doc?.at).toBeInstanceOf(Date);
      expect(doc).not.toHaveProperty('gone');
    });

    it('GAP: positional $ after an $elemMatch filter fails (2 BadValue); use arrayFilters or a dotted filter', async (ctx) => {
      if (!javaServer) ctx.skip();
      const c = db().collection('positional_elemmatch');
      await c.insertOne({ key: 'e', holds: [{ orderId: 'o1', qty: 1 }] });
      const err = await errorOf(() => c.updateOne({ key: 'e', holds: { $elemMatch: { orderId: 'o1' } } }, { $inc: { 'holds.$.qty': 1 } }));
      expect(err).toMatchObject({ code: 2, codeName: 'BadValue' });
    });

    it('GAP: update pipelines (array updates) are not supported', async (ctx) => {
      if (!javaServer) ctx.skip();
      const c = db().collection('pipeline_update');
      await c.insertOne({ key: 'p', a: 1 });
      const err = await errorOf(() => c.updateOne({ key: 'p' }, [{ $set: { b: { $add: ['$a', 1] } } }]));
      // The message varies (a Java ClassCastException, sometimes with a null message): it fails, that is the point.
      expect(err).toBeInstanceOf(Error);
    });

    it('GAP: collation is ignored (a case-insensitive collation still matches case-sensitively)', async (ctx) => {
      if (!javaServer) ctx.skip();
      const c = db().collection('collation');
      await c.insertOne({ name: 'Apple' });
      expect(await c.find({ name: 'apple' }).collation({ locale: 'en', strength: 2 }).toArray()).toHaveLength(0);
    });
  });
});

// -----------------------------------------------------------------------------------------------
describe.runIf(process.env.PROBE_DEV === '1')('8. H2 backend (dev profile): data survives `services.sh down dev && up dev`', () => {
  const uri = 'mongodb://127.0.0.1:27017/';
  const dbName = uniqueDbName('probe_persist');

  afterAll(async () => {
    const conn = await openConnection(uri, dbName);
    await conn.dropDatabase();
    await conn.close();
  });

  it('documents, array contents and unique indexes are still there after a restart', async () => {
    services('up', 'dev');
    const before = await openConnection(uri, dbName);
    const c = database(before).collection('persisted');
    await c.createIndex({ key: 1 }, { unique: true });
    await c.insertMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, holds: [{ orderId: `o${i}`, qty: i }] })));
    await c.updateOne({ key: 'k7' }, { $inc: { 'holds.0.qty': 1000 } });
    await before.close();

    const down = services('down', 'dev');
    expect(down).toBe(''); // progress goes to stderr
    services('up', 'dev');

    const after = await openConnection(uri, dbName);
    try {
      const c2 = database(after).collection('persisted');
      expect(await c2.countDocuments()).toBe(100);
      expect((await c2.findOne({ key: 'k7' }))?.holds).toEqual([{ orderId: 'o7', qty: 1007 }]);
      const indexes = await c2.listIndexes().toArray();
      expect(indexes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'key_1', unique: true })]));
      expect(isDuplicateKey(await errorOf(() => c2.insertOne({ key: 'k1' })))).toBe(true);
    } finally {
      await after.close();
    }
  }, 300_000);
});
