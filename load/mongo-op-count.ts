/**
 * Counts the database operations the system makes, by shape: a TCP proxy in
 * front of the MongoDB server that reads each OP_MSG command on its way
 * through (command, collection, the filter's field names) and forwards the
 * bytes untouched. Every operation costs the database server and the client
 * process a round trip, so the count per buyer is what a change to the hot
 * path should lower.
 *
 *   npx tsx load/mongo-op-count.ts                 # listens on 27019, forwards to 127.0.0.1:27017
 *   MONGODB_URI=mongodb://127.0.0.1:27019/orders REDIS_URL=redis://127.0.0.1:6379 npm run start:all
 *   kill -USR2 <pid>                               # prints the counts since the last print, and resets them
 * Settings: PROXY_PORT (27019), MONGO_HOST (127.0.0.1), MONGO_PORT (27017).
 * With MONGODB_URI given, start:all starts no database server: start it
 * first (`bash scripts/services/services.sh up dev`). Point the load driver
 * at the server itself, so its own checks are not counted.
 */
import net from 'node:net';
import { mongo } from 'mongoose';

type Document = mongo.Document;

const PROXY_PORT = Number(process.env.PROXY_PORT ?? 27019);
const MONGO_HOST = process.env.MONGO_HOST ?? '127.0.0.1';
const MONGO_PORT = Number(process.env.MONGO_PORT ?? 27017);
const OP_MSG = 2013;

const counts = new Map<string, number>();

/** "update open_orders q=_id": the command, its collection, and the fields its filter names. */
function shapeOf(doc: Document): string {
  const command = Object.keys(doc)[0] ?? '?';
  const collection = typeof doc[command] === 'string' ? ` ${doc[command]}` : '';
  const first = (list: unknown) => (Array.isArray(list) ? (list[0] as Document | undefined) : undefined);
  const filter = (first(doc.updates)?.q ?? first(doc.deletes)?.q ?? doc.filter ?? doc.query) as Document | undefined;
  return `${command}${collection}${filter ? ` q=${Object.keys(filter).join(',')}` : ''}`;
}

/** Reads the complete messages at the front of `pending`, counts the commands among them; returns what is left. */
function countMessages(pending: Buffer): Buffer {
  let rest = pending;
  while (rest.length >= 16) {
    const length = rest.readInt32LE(0);
    if (rest.length < length) break;
    // OP_MSG: header (16 bytes), flag bits (4), then section kind 0: the command document.
    if (rest.readInt32LE(12) === OP_MSG && rest[20] === 0) {
      try {
        const docLength = rest.readInt32LE(21);
        const shape = shapeOf(mongo.BSON.deserialize(rest.subarray(21, 21 + docLength)));
        counts.set(shape, (counts.get(shape) ?? 0) + 1);
      } catch {
        counts.set('(unreadable)', (counts.get('(unreadable)') ?? 0) + 1);
      }
    }
    rest = rest.subarray(length);
  }
  return rest;
}

net
  .createServer((client) => {
    const server = net.connect(MONGO_PORT, MONGO_HOST);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      server.write(chunk);
      pending = countMessages(pending.length ? Buffer.concat([pending, chunk]) : chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [a, b] of [
      [client, server],
      [server, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  })
  .listen(PROXY_PORT, '127.0.0.1', () => console.log(`counting operations on 127.0.0.1:${PROXY_PORT} → ${MONGO_HOST}:${MONGO_PORT}; kill -USR2 ${process.pid} to print`));

process.on('SIGUSR2', () => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(`${total} operations`);
  for (const [shape, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(7)}  ${shape}`);
  counts.clear();
});
