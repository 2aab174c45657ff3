/**
 * A small process supervisor: runs a list of children (each `count` times),
 * restarts any that exits unless we asked it to stop, and stops them all
 * gracefully on request.
 *
 * Promises:
 *   - a child that exits for any reason (crash, signal, even code 0) outside a
 *     stop is restarted after a backoff (./backoff.ts): never given up, never
 *     in a hot loop, and one child's restarts never hold up the others;
 *   - stop(): SIGTERM to every child, SIGKILL to those still running after the
 *     grace period; resolves once all have exited. forceStop(): SIGKILL now;
 *   - each child's output is tagged with its name, line by line.
 *
 * Nothing that matters lives only here: the children keep their state in
 * MongoDB, Redis and files, and the pids and restart counts below are
 * disposable. The children stay in the supervisor's process group, so whoever
 * started it (scripts/dev.sh) can stop what it leaves behind by that group
 * even if the supervisor itself is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { checkBackoff, DEFAULT_BACKOFF, formatDelay, nextRestart, type BackoffPolicy } from './backoff';
import { LinePrefixer, type LineSink } from './line-prefixer';

export interface ChildSpec {
  name: string;
  command: string;
  args?: readonly string[];
  /** Added to the supervisor's environment; a function gets the instance number (1..count). */
  env?: Record<string, string> | ((instance: number) => Record<string, string>);
  /** How many copies to run (default 1); they are named `<name>.1`, `<name>.2`, ... */
  count?: number;
}

export interface SupervisorOptions {
  cwd?: string;
  backoff?: Partial<BackoffPolicy>;
  /** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
  stopGraceMs?: number;
  /** Where the children's stdout and stderr (tagged) and the supervisor's own lines go. */
  stdout?: LineSink;
  stderr?: LineSink;
}

interface Running {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<void>;
}

interface Instance {
  name: string;
  spec: ChildSpec;
  number: number;
  running: Running | null;
  restartTimer: NodeJS.Timeout | null;
  quickExits: number;
  restarts: number;
}

export class Supervisor {
  private readonly instances: Instance[];
  private readonly backoff: BackoffPolicy;
  private readonly stopGraceMs: number;
  private readonly out: LineSink;
  private readonly err: LineSink;
  private readonly padTo: number;
  private stopping = false;

  constructor(
    specs: readonly ChildSpec[],
    private readonly options: SupervisorOptions = {},
  ) {
    this.backoff = checkBackoff({ ...DEFAULT_BACKOFF, ...options.backoff });
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
    this.instances = specs.flatMap((spec) => {
      const count = spec.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw new Error(`${spec.name}: count must be a whole number >= 1, got ${count}`);
      return Array.from({ length: count }, (_, i) => ({
        name: count === 1 ? spec.name : `${spec.name}.${i + 1}`,
        spec,
        number: i + 1,
        running: null,
        restartTimer: null,
        quickExits: 0,
        restarts: 0,
      }));
    });
    const names = this.instances.map((i) => i.name);
    const repeated = names.find((n, i) => names.indexOf(n) !== i);
    if (repeated) throw new Error(`two children are named ${repeated}`);
    this.padTo = Math.max('supervisor'.length, ...names.map((n) => n.length));
  }

  /** A line of the supervisor's own, tagged like the children's. */
  log(message: string): void {
    this.err.write(`${this.tag('supervisor')}${message}\n`);
  }

  start(): void {
    for (const instance of this.instances) this.spawnInstance(instance);
  }

  /** SIGTERM to every child, SIGKILL after the grace period; resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelRestarts();
    const running = this.instances.filter((i) => i.running);
    const exits = running.map((i) => i.running?.exited ?? Promise.resolve());
    if (running.length === 0) return;
    this.log(`stopping ${running.map((i) => i.name).join(', ')} (SIGTERM; SIGKILL after ${formatDelay(this.stopGraceMs)})`);
    for (const instance of running) {
      signal(instance, 'SIGTERM');
      // A stopped (SIGSTOP) process acts on SIGTERM only once continued.
      signal(instance, 'SIGCONT');
    }
    const killer = setTimeout(() => {
      for (const instance of running.filter((i) => i.running)) {
        this.log(`${instance.name} did not exit within ${formatDelay(this.stopGraceMs)} of SIGTERM; sending SIGKILL`);
        signal(instance, 'SIGKILL');
      }
    }, this.stopGraceMs);
    await Promise.all(exits);
    clearTimeout(killer);
  }

  /** SIGKILL to every child, at once (a second Ctrl-C; the process exiting). Synchronous. */
  forceStop(): void {
    this.stopping = true;
    this.cancelRestarts();
    for (const instance of this.instances) signal(instance, 'SIGKILL');
  }

  private cancelRestarts(): void {
    for (const instance of this.instances) {
      if (instance.restartTimer) clearTimeout(instance.restartTimer);
      instance.restartTimer = null;
    }
  }

  private tag(name: string): string {
    return `[${name}]`.padEnd(this.padTo + 3);
  }

  private spawnInstance(instance: Instance): void {
    if (this.stopping) return;
    const { spec } = instance;
    const extraEnv = typeof spec.env === 'function' ? spec.env(instance.number) : (spec.env ?? {});
    const child = spawn(spec.command, spec.args ?? [], {
      cwd: this.options.cwd,
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = new LinePrefixer(this.tag(instance.name), this.out);
    const err = new LinePrefixer(this.tag(instance.name), this.err);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stdout.on('end', () => out.end());
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stderr.on('end', () => err.end());

    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const running: Running = { child, startedAt: Date.now(), exited };
    instance.running = running;
    // Node reports a failed spawn (ENOENT, EACCES) as 'error', and may or may not follow it with 'exit'.
    let done = false;
    const finish = (how: string) => {
      if (done) return;
      done = true;
      instance.running = null;
      markExited();
      this.afterExit(instance, how, Date.now() - running.startedAt);
    };
    child.on('exit', (code, sig) => finish(sig ? `signal ${sig}` : `code ${code}`));
    child.on('error', (error) => {
      if (child.pid === undefined) finish(`could not start: ${error.message}`);
      else this.log(`${instance.name}: ${error.message}`);
    });
    if (child.pid !== undefined) this.log(`${instance.name} started (pid ${child.pid})`);
  }

  private afterExit(instance: Instance, how: string, uptimeMs: number): void {
    if (this.stopping) {
      this.log(`${instance.name} stopped (${how})`);
      return;
    }
    const { quickExits, delayMs } = nextRestart(this.backoff, instance.quickExits, uptimeMs);
    instance.quickExits = quickExits;
    instance.restarts += 1;
    this.log(`${instance.name} exited (${how}); restarting in ${formatDelay(delayMs)} (restart #${instance.restarts})`);
    instance.restartTimer = setTimeout(() => {
      instance.restartTimer = null;
      this.spawnInstance(instance);
    }, delayMs);
  }
}

/** Through the child's handle rather than its pid: once reaped, a pid may belong to someone else. */
function signal(instance: Instance, sig: NodeJS.Signals): void {
  instance.running?.child.kill(sig);
}
