/**
 * One mongoose connection per process. Models are registered once even when
 * Next's dev server re-evaluates modules (mongoose.models cache).
 */
import mongoose from 'mongoose';

// Queries on fields not in a schema must fail loudly, not match everything.
mongoose.set('strictQuery', true);

let connecting: Promise<typeof mongoose> | undefined;

export function connectMongo(uri: string): Promise<typeof mongoose> {
  connecting ??= mongoose
    .connect(uri, {
      serverSelectionTimeoutMS: 10_000,
      // Index builds are explicit (ensureIndexes) so a deploy fails fast on a bad index.
      autoIndex: false,
    })
    .catch((err: unknown) => {
      // Not cached: a process started before its database must connect once the database answers.
      connecting = undefined;
      throw err;
    });
  return connecting;
}

export async function disconnectMongo(): Promise<void> {
  connecting = undefined;
  await mongoose.disconnect();
}
