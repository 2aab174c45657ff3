/** Child processes for tests: start, wait until healthy, stop (or kill -9 for crash tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const LOG_DIR = path.join(ROOT, '.run', 'test', 'logs');

export interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** `name` may contain a folder (`multi/web-1`): its log goes to LOG_DIR/<name>.log. Runs in the repository unless `cwd` says otherwise. */
export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Managed {
  const logFile = path.join(LOG_DIR, `${name}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, child, exited };
}

export async function waitForHttp(url: string, timeoutMs: number, proc?: Managed): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}; see ${LOG_DIR}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last}); see ${LOG_DIR}`);
}

export async function stopProcess(proc: Managed | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/** Runs a TypeScript entry point with tsx, as `npm run worker` does. */
export function startTs(name: string, entry: string, env: NodeJS.ProcessEnv): Managed {
  return startProcess(name, process.execPath, ['--import', 'tsx', entry], env);
}

/**
 * One process of the production build's web server, as the web image runs
 * each copy (`node web-process.cjs`: the standalone server.js with the hot API
 * paths in front of Next's router; build it first: `npm run build`, or
 * scripts/ensure-build.sh).
 * HOSTNAME is the standalone server's listen address; pinned here because a
 * shell may export the machine's name under that variable.
 */
export function startNextApp(name: string, port: number, env: NodeJS.ProcessEnv): Managed {
  const server = path.join(ROOT, '.next', 'standalone', 'web-process.cjs');
  if (!existsSync(server)) {
    throw new Error('No production build found: run `npm run build` first (npm test does it).');
  }
  return startProcess(name, process.execPath, [server], { ...env, PORT: String(port), HOSTNAME: '127.0.0.1' });
}

/** Resolves once the process wrote `text` to stdout (e.g. the worker's "worker started" line); rejects if it exits first. */
export async function waitForOutput(proc: Managed, text: string, timeoutMs: number): Promise<void> {
  const stdout = proc.child.stdout;
  if (!stdout) throw new Error(`${proc.name}: stdout is not piped`);
  let seen = '';
  let onData: ((chunk: Buffer) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        onData = (chunk: Buffer) => {
          // Keep a tail long enough for a line split across chunks.
          seen = (seen + chunk.toString('utf8')).slice(-(text.length + 4096));
          if (seen.includes(text)) resolve();
        };
        stdout.on('data', onData);
      }),
      proc.exited.then((code) => {
        throw new Error(`${proc.name} exited (${code ?? proc.child.signalCode}) before printing ${text}; see ${LOG_DIR}/${proc.name}.log`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${proc.name} did not print ${text} within ${timeoutMs} ms; see ${LOG_DIR}/${proc.name}.log`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onData) stdout.off('data', onData);
  }
}

/**
 * Processes started together and stopped together, whatever happened in
 * between: stopAll() ends every one still running (SIGTERM, then SIGKILL
 * after the grace period), and if the test process itself exits first, the
 * exit hook SIGKILLs what is left so no child outlives the run.
 */
export class ProcessGroup {
  readonly procs: Managed[] = [];
  private readonly killLeftovers = () => {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.killLeftovers);
  }

  add(proc: Managed): Managed {
    this.procs.push(proc);
    return proc;
  }

  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all(this.procs.map((p) => stopProcess(p, 'SIGTERM', graceMs)));
    process.off('exit', this.killLeftovers);
  }
}

/** Fails fast when a port is taken, so a stray server never answers for ours. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () => reject(new Error(`port ${port} for the ${what} is in use; set TEST_APP_PORT / TEST_SIM_PORT / TEST_WORKER_HTTP_PORT`)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** A port nothing listens on right now (the OS picks it), for a process a test starts itself. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
