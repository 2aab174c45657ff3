/**
 * Inserts one new document as `Model.create` stores it (the same Document:
 * cast, schema defaults, validated, timestamps) but without `save`'s
 * machinery around the insert. Orders, carts and webhook events are inserted
 * once each on the hot path, where `create` cost about twice this. None of
 * these models has save middleware other than the operation gate, which this
 * passes too; tests/integration/insert-validated.test.ts holds the stored
 * documents of both ways side by side.
 * A duplicate `_id` or unique key fails as with `create` (a MongoServerError,
 * code 11000), and an invalid document with mongoose's ValidationError,
 * before anything is written.
 */
import type { Model } from 'mongoose';
import { passOperationGate } from './operation-gate';

export async function insertValidated<T>(model: Model<T>, fields: Record<string, unknown>): Promise<T> {
  const doc = new model(fields);
  await doc.validate();
  const stored = model.applyTimestamps(doc.toObject()) as Record<string, unknown>;
  // Through the same gate as a model's save (the scheduler orders it among the other operations).
  await passOperationGate({ model: model.modelName, op: 'insert', filter: { _id: stored._id } });
  await model.collection.insertOne(stored);
  return stored as T;
}
