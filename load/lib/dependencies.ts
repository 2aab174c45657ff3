/**
 * Stopping and starting the system's Redis and MongoDB server for the
 * drills, as an operator's restart would: a clean stop (Redis SHUTDOWN, which
 * writes its AOF / RDB as configured; SIGTERM to the database server, which
 * closes its store), an outage, and the same server started again with the
 * same settings on the same port, detached (it outlives the driver, like the
 * one it replaces).
 *
 * - Redis: its settings are read with CONFIG GET before the stop (the
 *   process title Redis sets hides its command line), and the persistence,
 *   network and file settings are passed again on the command line.
 * - MongoDB server: its command line and working directory are read from
 *   /proc and run again. mongo-java-server with its in-memory backend
 *   (`MongoLauncher --backend memory`, the test profile's) is refused: a
 *   restart would lose every order, which is no drill of ours. The H2 file
 *   backend (`--backend h2 --file …`, what `npm run start:all` runs) keeps
 *   its data across a clean stop.
 * A pid file of scripts/services (.run/<profile>/pids/) that named the old
 * process is rewritten with the new pid, so `services.sh down` still stops it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { pidListeningOn } from './processes';

const ROOT = path.resolve(__dirname, '..', '..');
const LOG_DIR = path.join(ROOT, '.run', 'load');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stopped server: `start()` runs it again and resolves once it answers. */
export interface Stopped {
  pid: number;
  start(): Promise<{ pid: number | null }>;
}

export const portOfUrl = (url: string, fallback: number): number => {
  const port = new URL(url.replace(/^[a-z+]+:/, 'http:')).port;
  return port ? Number(port) : fallback;
};

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `command` detached, its output appended to .run/load/<name>.log; resolves once it runs (the driver does not wait for it to end). */
async function startDetached(name: string, command: string, args: string[], cwd: string): Promise<void> {
  mkdirSync(LOG_DIR, { recursive: true });
  const log = openSync(path.join(LOG_DIR, `${name}.log`), 'a');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', log, log], env: process.env });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}

/** scripts/services keeps its servers' pids in .run/<profile>/pids/; a restarted server gets its new pid there. */
function repointPidFiles(oldPid: number, newPid: number): void {
  const runDir = path.join(ROOT, '.run');
  if (!existsSync(runDir)) return;
  for (const profile of readdirSync(runDir)) {
    const dir = path.join(runDir, profile, 'pids');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
      const f = path.join(dir, file);
      if (readFileSync(f, 'utf8').trim() === String(oldPid)) writeFileSync(f, `${newPid}\n`);
    }
  }
}

// ------------------------------------------------------------------ Redis

/** Settings passed again on restart; multi-word values (bind, save) go as separate words. */
const REDIS_SETTINGS = ['port', 'bind', 'dir', 'dbfilename', 'appendonly', 'appendfilename', 'appenddirname', 'appendfsync', 'save', 'maxmemory', 'maxmemory-policy', 'daemonize', 'pidfile', 'logfile'];
const SPLIT = new Set(['bind', 'save']);

function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => undefined);
  return client;
}

export async function stopRedis(url: string): Promise<Stopped> {
  const client = redisClient(url);
  await client.connect();
  const info = Object.fromEntries(
    (await client.info('server'))
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
  const flat = (await client.config('GET', '*')) as string[];
  const config = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) config.set(flat[i] as string, flat[i + 1] as string);
  const pid = Number(info.process_id);
  // INFO's `executable` is argv[0] joined to the working directory, also when it was found on PATH: then by its
  // name, on PATH again. (Not /proc/<pid>/exe: Debian's redis-server is a link to redis-check-rdb, which checks
  // its own name to choose what to be.)
  const executable = info.executable && existsSync(info.executable) ? info.executable : path.basename(info.executable || 'redis-server');
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  const args = [
    ...(info.config_file ? [info.config_file] : []),
    ...REDIS_SETTINGS.flatMap((name) => {
      const value = config.get(name);
      if (value === undefined) return [];
      return [`--${name}`, ...(SPLIT.has(name) && value !== '' ? value.split(' ') : [value])];
    }),
  ];
  // SHUTDOWN persists as configured, then closes the connection: no reply is the expected answer.
  await client.call('SHUTDOWN').catch(() => undefined);
  client.disconnect();
  await until(`redis (pid ${pid}) did not exit`, 30_000, () => (alive(pid) ? null : true));
  return {
    pid,
    start: async () => {
      await startDetached('redis-restart', executable, args, cwd);
      await until('redis did not answer again', 60_000, async () => {
        const c = redisClient(url);
        try {
          await c.connect();
          return (await c.ping()) === 'PONG' ? true : null;
        } catch {
          return null;
        } finally {
          c.disconnect();
        }
      });
      const again = pidListeningOn(portOfUrl(url, 6379));
      if (again !== null) repointPidFiles(pid, again);
      return { pid: again };
    },
  };
}

/** FLUSHALL: every key of every database on that server, every queued job with them. Returns how many keys there were. */
export async function flushRedis(url: string): Promise<number> {
  const client = redisClient(url);
  try {
    await client.connect();
    const keys = await client.dbsize();
    await client.flushall();
    return keys;
  } finally {
    client.disconnect();
  }
}

// ------------------------------------------------------------------ MongoDB

/** Why a restart of this server would lose its data, or null when it keeps it. */
export function volatileServer(argv: readonly string[]): string | null {
  if (!argv.some((a) => a.includes('MongoLauncher'))) return null;
  const i = argv.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  const backend = i < 0 ? 'memory' : argv[i]?.includes('=') ? argv[i]?.split('=')[1] : argv[i + 1];
  return backend === 'h2' ? null : `the MongoDB server keeps its data in memory (MongoLauncher --backend ${backend}): a restart would lose every order; run it with --backend h2 --file <path> (npm run start:all does)`;
}

async function mongoAnswers(uri: string): Promise<boolean> {
  const conn = mongoose.createConnection(uri, { serverSelectionTimeoutMS: 2_000, directConnection: true });
  try {
    await conn.asPromise();
    await conn.db?.admin().ping();
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export async function stopMongo(uri: string): Promise<Stopped> {
  const port = portOfUrl(uri, 27017);
  const pid = pidListeningOn(port);
  if (pid === null) throw new Error(`nothing listens on port ${port}`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  const refusal = volatileServer(argv);
  if (refusal) throw new Error(refusal);
  const [command, ...args] = argv;
  if (!command) throw new Error(`cannot read the command line of pid ${pid}`);
  process.kill(pid, 'SIGTERM');
  await until(`the MongoDB server (pid ${pid}) did not exit after SIGTERM`, 60_000, () => (alive(pid) ? null : true));
  return {
    pid,
    start: async () => {
      await startDetached('mongo-restart', command, args, cwd);
      await until('the MongoDB server did not answer again', 120_000, async () => ((await mongoAnswers(uri)) ? true : null));
      const again = pidListeningOn(port);
      if (again !== null) repointPidFiles(pid, again);
      return { pid: again };
    },
  };
}
