/** The readiness checks each process runs (see readiness.ts), over the connections it really uses. */
import mongoose from 'mongoose';
import type { Redis } from 'ioredis';
import { connectMongo } from '../../../prisma-free-models';
import type { Config } from '../config';
import { createProducerRedis } from '../runtime';
import type { DependencyChecks } from './readiness';

/** MongoDB answers a ping over this process's connection. */
export async function pingMongo(): Promise<void> {
  const db = mongoose.connection.db;
  if (!db) throw new Error('MongoDB is not connected');
  await db.admin().ping();
}

let webRedis: Redis | undefined;

/**
 * The web app's dependencies. It connects to MongoDB on first use (so a web
 * app started before its database becomes ready once the database answers),
 * and checks Redis over a connection of its own, so Redis is reported even
 * when the app's runtime could not start for want of MongoDB.
 */
export function webDependencyChecks(config: Pick<Config, 'MONGODB_URI' | 'REDIS_URL'>): DependencyChecks {
  return {
    mongodb: async () => {
      await connectMongo(config.MONGODB_URI);
      await pingMongo();
    },
    redis: async () => {
      if (!webRedis) {
        webRedis = createProducerRedis(config.REDIS_URL);
        // A failed ping is the report; ioredis would otherwise print every reconnect error.
        webRedis.on('error', () => undefined);
      }
      await webRedis.ping();
    },
  };
}
