/**
 * load/mongo-op-count.ts in front of the suite's MongoDB server: a client
 * connected through it works as usual (the bytes are forwarded untouched),
 * and SIGUSR2 prints each operation the client made under its shape (command,
 * collection, the filter's fields), counted once, then starts counting afresh.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mongo } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { ROOT, freePort } from '../setup/processes';
import { env } from '../helpers';

describe('load/mongo-op-count.ts', () => {
  it('counts the operations passing through it by shape, and forwards them untouched', async () => {
    const target = new URL(env('MONGODB_URI'));
    const proxyPort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'load/mongo-op-count.ts'], {
      cwd: ROOT,
      env: { ...process.env, PROXY_PORT: String(proxyPort), MONGO_HOST: target.hostname, MONGO_PORT: target.port },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const printed = async (...what: string[]) => {
      for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) if (what.every((w) => out.includes(w))) return;
      throw new Error(`mongo-op-count did not print ${what.join(', ')}; it printed:\n${out}`);
    };
    const client = new mongo.MongoClient(`mongodb://127.0.0.1:${proxyPort}/?directConnection=true`);
    try {
      await printed('counting operations on');
      await client.connect();
      const name = `opcount_${randomBytes(4).toString('hex')}`;
      const coll = client.db(target.pathname.slice(1) || 'test').collection<{ _id: string; state: string }>(name);
      await coll.insertOne({ _id: 'a', state: 'CREATED' });
      await coll.findOne({ _id: 'a' });
      await coll.findOne({ _id: 'a' });
      const moved = await coll.updateOne({ _id: 'a', state: 'CREATED' }, { $set: { state: 'REJECTED' } });
      expect(moved.modifiedCount).toBe(1);
      expect(await coll.findOne({ _id: 'a' })).toEqual({ _id: 'a', state: 'REJECTED' });

      child.kill('SIGUSR2');
      await printed(`insert ${name}`, `find ${name}`, `update ${name}`);
      const counted = (shape: string) => Number(new RegExp(`^\\s*(\\d+)  ${shape}$`, 'm').exec(out)?.[1] ?? 0);
      expect(counted(`insert ${name}`)).toBe(1);
      expect(counted(`find ${name} q=_id`)).toBe(3);
      expect(counted(`update ${name} q=_id,state`)).toBe(1);

      // Counted afresh after each print.
      out = '';
      await coll.drop();
      child.kill('SIGUSR2');
      await printed(`drop ${name}`);
      expect(counted(`find ${name} q=_id`)).toBe(0);
      expect(counted(`drop ${name}`)).toBe(1);
    } finally {
      await client.close();
      child.kill('SIGTERM');
    }
  }, 60_000);
});
