/** Each test file talks to the same database as the app and the worker. */
import { afterAll, beforeAll } from 'vitest';
import { connectMongo, disconnectMongo, ensureIndexes } from '../../prisma-free-models';
import { logger } from '../../src/server/logger';

// Domain code called in-process logs here; keep the test output readable
// (the app's and worker's logs are in .run/test/logs/).
logger.level = process.env.TEST_LOG_LEVEL ?? 'warn';

beforeAll(async () => {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: run the suite with `npm test`');
  await connectMongo(uri);
  await ensureIndexes();
});

afterAll(async () => {
  await disconnectMongo();
});
