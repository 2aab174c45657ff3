/** Each test file talks to the same database as the app and the worker. */
import { afterAll, beforeAll } from 'vitest';
import { connectMongo, disconnectMongo, ensureIndexes } from '../../prisma-free-models';

beforeAll(async () => {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: run the suite with `npm test`');
  await connectMongo(uri);
  await ensureIndexes();
});

afterAll(async () => {
  await disconnectMongo();
});
