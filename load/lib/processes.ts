/**
 * CPU time per process, read from /proc (Linux): utime + stime of each
 * process and its descendants, sampled during the run. A process is found by
 * the TCP port it listens on (/proc/net/tcp[6] → socket inode → the process
 * holding it) or given by pid. A process that dies mid-run (a drill) is found
 * again by its port, and its successor's CPU counts from its start, so a
 * restart's cost is part of the run's.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessTarget {
  role: string;
  port?: number;
  pid?: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const numericDirs = (path: string) => {
  try {
    return readdirSync(path).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
};

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(file) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the inode.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9] && f[9] !== '0') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The process listening on `port`, or null. */
export function pidListeningOn(port: number): number | null {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return null;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const pid of numericDirs('/proc')) {
    for (const fd of numericDirs(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(target)) return Number(pid);
    }
  }
  return null;
}

interface Stat {
  ppid: number;
  /** utime + stime, clock ticks. */
  ticks: number;
  /** Start time, clock ticks after boot. */
  start: number;
  comm: string;
}

function stat(pid: number): Stat | null {
  const raw = read(`/proc/${pid}/stat`);
  if (!raw) return null;
  const close = raw.lastIndexOf(')');
  const comm = raw.slice(raw.indexOf('(') + 1, close);
  // Fields after "pid (comm) ": state is [0], ppid [1], utime [11], stime [12], starttime [19].
  const f = raw.slice(close + 2).split(' ');
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]), comm };
}

function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const p of numericDirs('/proc')) {
    const s = stat(Number(p));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(p)]);
  }
  return children;
}

/** `pid` and every process below it. */
export function withDescendants(pid: number, children = childrenByParent()): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

function bootTicksNow(): number {
  const uptime = Number((read('/proc/uptime') ?? '0').split(' ')[0]);
  return uptime * ticksPerSecond();
}

export interface RoleCpu {
  role: string;
  /** CPU milliseconds used by the role's processes during the measured window. */
  cpuMs: number;
  pids: number[];
  commands: string[];
  found: boolean;
}

interface PidUsage {
  first: number;
  last: number;
  comm: string;
}

export class CpuMeter {
  private readonly roots = new Map<string, number | null>();
  private readonly usage = new Map<string, Map<number, PidUsage>>();
  private startBootTicks = 0;
  /** Per-second samples: CPU % of one core per role since the previous sample. */
  readonly series: { t: number; percent: Record<string, number> }[] = [];
  private lastTotals: Record<string, number> = {};
  private lastSampleAt: number | null = null;

  constructor(private readonly targets: readonly ProcessTarget[]) {}

  start(nowMs: number): void {
    this.startBootTicks = bootTicksNow();
    for (const t of this.targets) {
      this.roots.set(t.role, t.pid ?? (t.port ? pidListeningOn(t.port) : null));
      this.usage.set(t.role, new Map());
    }
    this.sample(nowMs);
  }

  /** Reads every role's processes; records a point of the CPU % series. */
  sample(nowMs: number): void {
    const totals: Record<string, number> = {};
    const children = childrenByParent();
    for (const t of this.targets) {
      let root = this.roots.get(t.role) ?? null;
      if (root === null || stat(root) === null) {
        // Gone (killed, restarted) or not up at the start: look for it again by its port.
        root = t.port ? pidListeningOn(t.port) : null;
        this.roots.set(t.role, root);
      }
      const pids = this.usage.get(t.role) as Map<number, PidUsage>;
      if (root !== null) {
        for (const pid of withDescendants(root, children)) {
          const s = stat(pid);
          if (!s) continue;
          const known = pids.get(pid);
          if (known) known.last = s.ticks;
          // Born during the run: everything it used counts; else from now on.
          else pids.set(pid, { first: s.start > this.startBootTicks ? 0 : s.ticks, last: s.ticks, comm: s.comm });
        }
      }
      totals[t.role] = this.totalMs(pids);
    }
    // A point over less than half a second says more about rounding to clock ticks than about load.
    if (this.lastSampleAt !== null && nowMs - this.lastSampleAt < 500) return;
    if (this.lastSampleAt !== null) {
      const dt = nowMs - this.lastSampleAt;
      this.series.push({
        t: nowMs,
        percent: Object.fromEntries(Object.entries(totals).map(([r, ms]) => [r, Math.round(((ms - (this.lastTotals[r] ?? 0)) / dt) * 1000) / 10])),
      });
    }
    this.lastTotals = totals;
    this.lastSampleAt = nowMs;
  }

  private totalMs(pids: Map<number, PidUsage>): number {
    let ticks = 0;
    for (const u of pids.values()) ticks += u.last - u.first;
    return (ticks * 1000) / ticksPerSecond();
  }

  result(): RoleCpu[] {
    return this.targets.map((t) => {
      const pids = this.usage.get(t.role) ?? new Map<number, PidUsage>();
      return {
        role: t.role,
        cpuMs: Math.round(this.totalMs(pids)),
        pids: [...pids.keys()],
        commands: [...new Set([...pids.values()].map((u) => u.comm))],
        found: pids.size > 0,
      };
    });
  }
}
