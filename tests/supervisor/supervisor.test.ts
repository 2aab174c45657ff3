/**
 * The supervisor behind `npm run start:all`, with real processes really
 * killed: a child killed with SIGKILL comes back healthy while the others keep
 * their pid; a crash-looping child is restarted with growing delays without
 * holding up the others; SIGTERM stops every child (SIGKILL after the grace
 * period for one that ignores it); a second signal forces.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, ROOT } from '../setup/processes';
import { waitFor } from '../helpers';

interface RunningSupervisor {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

afterEach(() => {
  // Whatever a failed test left: the supervisor leads its own process group, children included.
  for (const proc of started.splice(0)) {
    try {
      if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function startSupervisor(entry: string, args: string[], env: NodeJS.ProcessEnv): RunningSupervisor {
  // detached: its own process group, as scripts/dev.sh starts it (setsid).
  const proc = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output: () => output, exited };
}

/** The pids the supervisor reported for a child, oldest first. */
function pidsOf(sup: RunningSupervisor, name: string): number[] {
  return [...sup.output().matchAll(new RegExp(`^\\[supervisor\\] +${name} started \\(pid (\\d+)\\)$`, 'gm'))].map((m) => Number(m[1]));
}

/** The delays (ms) the supervisor announced before each restart of a child. */
function restartDelays(sup: RunningSupervisor, name: string): number[] {
  return [...sup.output().matchAll(new RegExp(`^\\[supervisor\\] +${name} exited \\([^)]*\\); restarting in ([\\d.]+)(ms|s) `, 'gm'))].map((m) =>
    m[2] === 's' ? Number(m[1]) * 1000 : Number(m[1]),
  );
}

/** Alive and not a zombie (an orphan's zombie may linger until init reaps it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A process's nice value (field 19 of /proc/<pid>/stat). */
const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

const waitHealthy = (url: string, timeoutMs = 30_000) => waitFor(`${url} healthy`, () => healthy(url), Boolean, timeoutMs);

async function expectAllGone(sup: RunningSupervisor, names: string[]): Promise<void> {
  const pids = names.flatMap((n) => pidsOf(sup, n));
  expect(pids.length).toBeGreaterThan(0);
  await waitFor('every child gone', () => Promise.resolve(pids.filter(alive)), (left) => left.length === 0, 10_000);
}

const testSupervisor = (children: string[], env: Record<string, string> = {}) =>
  startSupervisor('tests/supervisor/test-supervisor.ts', [], { ...process.env, SUP_TEST_CHILDREN: children.join(','), ...env });

describe('supervisor', () => {
  it('restarts a SIGKILLed child (the real simulator) while the web app keeps its pid; SIGTERM stops both', async () => {
    const [simPort, webPort] = [await freePort(), await freePort()];
    const sup = startSupervisor('scripts/supervisor.ts', ['simulator', 'web'], {
      ...process.env,
      PORT: String(webPort),
      STRIPE_API_PORT: String(simPort),
      STRIPE_WEBHOOK_SECRET: 'whsec_supervisor_test',
    });
    const simHealth = `http://127.0.0.1:${simPort}/_sim/health`;
    const webHealth = `http://127.0.0.1:${webPort}/api/health`;
    await Promise.all([waitHealthy(simHealth), waitHealthy(webHealth)]);
    const [sim1] = pidsOf(sup, 'simulator');
    const [web1] = pidsOf(sup, 'web');
    expect(sup.output()).toMatch(/^\[simulator\] +\{.*"payment simulator listening"/m);

    process.kill(sim1!, 'SIGKILL');
    const sims = await waitFor('a new simulator', () => Promise.resolve(pidsOf(sup, 'simulator')), (p) => p.length === 2);
    await waitHealthy(simHealth);
    expect(sims[1]).not.toBe(sim1);
    expect(sup.output()).toContain('[supervisor] simulator exited (signal SIGKILL); restarting in 1s (restart #1)');
    expect(pidsOf(sup, 'web')).toEqual([web1]);
    expect(alive(web1!)).toBe(true);
    expect(await healthy(webHealth)).toBe(true);

    sup.proc.kill('SIGTERM');
    expect(await sup.exited).toEqual({ code: 0, signal: null });
    await expectAllGone(sup, ['simulator', 'web']);
    expect(await healthy(simHealth)).toBe(false);
    expect(await healthy(webHealth)).toBe(false);
  });

  it('the children of a supervisor that was SIGKILLed stop by themselves (the web server with its copies, the single-process webhooks server, the worker, the simulator)', async () => {
    const [simPort, webPort, hookPort, workerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const sup = startSupervisor('scripts/supervisor.ts', ['simulator', 'web', 'webhooks', 'worker'], {
      ...process.env,
      PORT: String(webPort),
      WEBHOOK_PORT: String(hookPort),
      WEB_PROCESSES: '2',
      // Exported for the whole start: the webhooks process still serves alone (its preset says 0).
      WEB_PRIMARY: '1',
      STRIPE_API_PORT: String(simPort),
      STRIPE_WEBHOOK_SECRET: 'whsec_supervisor_test',
      WORKER_HTTP_PORT: String(workerPort),
      // Queues of its own: this worker must not take the suite's jobs.
      QUEUE_PREFIX: `orphan-test-${process.pid}`,
    });
    const health = [
      `http://127.0.0.1:${simPort}/_sim/health`,
      `http://127.0.0.1:${webPort}/api/health`,
      `http://127.0.0.1:${hookPort}/api/health`,
      `http://127.0.0.1:${workerPort}/health`,
    ];
    await Promise.all(health.map((url) => waitHealthy(url, 60_000)));
    const [primary] = pidsOf(sup, 'web');
    const copies = childrenOf(primary!);
    expect(copies).toHaveLength(2);
    // One copy (WEB_PROCESSES=1, WEB_PRIMARY=0) serves in the process itself, no primary.
    const [hooks] = pidsOf(sup, 'webhooks');
    expect(childrenOf(hooks!)).toEqual([]);
    const pids = [...pidsOf(sup, 'simulator'), primary!, ...copies, hooks!, ...pidsOf(sup, 'worker')];
    expect(pids).toHaveLength(6);

    // The supervisor alone, as a kill -9 or an out-of-memory kill would: its children are left to init.
    process.kill(sup.proc.pid!, 'SIGKILL');
    await sup.exited;
    await waitFor('every child gone', () => Promise.resolve(pids.filter(alive)), (left) => left.length === 0, 30_000);
    for (const url of health) expect(await healthy(url)).toBe(false);
  }, 90_000);

  it("runs Stripe's webhook endpoint as a web process of its own, at normal priority above the storefront's: the simulator sends there, and a killed one is restarted while the storefront keeps its pid", async () => {
    const [simPort, webPort, hookPort] = [await freePort(), await freePort(), await freePort()];
    const sup = startSupervisor('scripts/supervisor.ts', ['simulator', 'web', 'webhooks'], {
      ...process.env,
      PORT: String(webPort),
      WEBHOOK_PORT: String(hookPort),
      STRIPE_API_PORT: String(simPort),
      STRIPE_WEBHOOK_SECRET: 'whsec_supervisor_test',
      WEB_NICE: '',
    });
    const hookHealth = `http://127.0.0.1:${hookPort}/api/health`;
    await Promise.all([waitHealthy(`http://127.0.0.1:${simPort}/_sim/health`), waitHealthy(`http://127.0.0.1:${webPort}/api/health`), waitHealthy(hookHealth)]);
    const config = (await (await fetch(`http://127.0.0.1:${simPort}/_sim/config`)).json()) as { webhookUrl: string };
    expect(config.webhookUrl).toBe(`http://127.0.0.1:${hookPort}/api/webhooks/stripe`);

    const [web1] = pidsOf(sup, 'web');
    const [hook1] = pidsOf(sup, 'webhooks');
    // The storefront's copies yield the CPU to the webhook intake (WEB_NICE, 5 by default here).
    // Half the CPUs by default, under a primary even when that is one copy (WEB_PRIMARY=1 here).
    const storefrontCopies = childrenOf(web1!);
    expect(storefrontCopies).toHaveLength(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(storefrontCopies.map(niceOf)).toEqual(storefrontCopies.map(() => 5));
    // The one webhooks copy is the process the supervisor started (no cluster primary handing it connections).
    expect(childrenOf(hook1!)).toEqual([]);
    expect(niceOf(hook1!)).toBe(0);
    // Listening with room for a crowd's connections (web-process.cjs), not Node's default of 511.
    for (const p of [webPort, hookPort]) {
      const listening = execFileSync('ss', ['-ltnH', `sport = :${p}`], { encoding: 'utf8' }).trim().split(/\s+/);
      expect(listening[2]).toBe(String(Math.min(4096, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')))));
    }
    process.kill(hook1!, 'SIGKILL');
    await waitFor('a new webhooks process', () => Promise.resolve(pidsOf(sup, 'webhooks')), (p) => p.length === 2);
    await waitHealthy(hookHealth);
    expect(pidsOf(sup, 'web')).toEqual([web1]);

    sup.proc.kill('SIGTERM');
    expect(await sup.exited).toEqual({ code: 0, signal: null });
    await expectAllGone(sup, ['simulator', 'web', 'webhooks']);
  });

  it('restarts a crash-looping child with growing delays, without holding up the others', async () => {
    const simPort = await freePort();
    const simHealth = `http://127.0.0.1:${simPort}/_sim/health`;
    const sup = testSupervisor(['simulator', 'crasher'], { SUP_TEST_SIM_PORT: String(simPort) });
    await waitHealthy(simHealth);
    const delays = await waitFor('four crasher restarts', () => Promise.resolve(restartDelays(sup, 'crasher')), (d) => d.length >= 4, 15_000);
    expect(delays.slice(0, 4)).toEqual([200, 400, 800, 1600]);
    expect(sup.output()).toContain('[supervisor] crasher exited (code 3); restarting in 1.6s (restart #4)');

    // The crasher's backoff is its own: a simulator killed now is restarted after its first delay.
    const [sim1] = pidsOf(sup, 'simulator');
    expect(await healthy(simHealth)).toBe(true);
    process.kill(sim1!, 'SIGKILL');
    await waitFor('a new simulator', () => Promise.resolve(pidsOf(sup, 'simulator')), (p) => p.length === 2, 5_000);
    await waitHealthy(simHealth, 5_000);
    expect(sup.output()).toContain('[supervisor] simulator exited (signal SIGKILL); restarting in 200ms (restart #1)');

    sup.proc.kill('SIGTERM');
    expect((await sup.exited).code).toBe(0);
    await expectAllGone(sup, ['simulator', 'crasher']);
    // The stop cancelled the restart the crasher was waiting for.
    const afterStop = sup.output().slice(sup.output().indexOf('[supervisor] SIGTERM: stopping'));
    expect(afterStop).not.toMatch(/crasher started/);
  });

  it('sends SIGKILL to a child that ignores SIGTERM once the grace period is over', async () => {
    const sup = testSupervisor(['stubborn'], { SUP_TEST_GRACE_MS: '500' });
    await waitFor('stubborn ready', () => Promise.resolve(sup.output()), (o) => /^\[stubborn\] +ready$/m.test(o));
    sup.proc.kill('SIGTERM');
    expect((await sup.exited).code).toBe(0);
    expect(sup.output()).toMatch(/^\[stubborn\] +ignoring SIGTERM$/m);
    expect(sup.output()).toContain('[supervisor] stubborn did not exit within 500ms of SIGTERM; sending SIGKILL');
    expect(sup.output()).toContain('[supervisor] stubborn stopped (signal SIGKILL)');
    await expectAllGone(sup, ['stubborn']);
  });

  it('takes two signals within a second as one request (npm and the terminal each deliver a Ctrl-C); a later one forces', async () => {
    const sup = testSupervisor(['stubborn'], { SUP_TEST_GRACE_MS: '60000' });
    await waitFor('stubborn ready', () => Promise.resolve(sup.output()), (o) => /^\[stubborn\] +ready$/m.test(o));
    sup.proc.kill('SIGINT');
    sup.proc.kill('SIGINT');
    await waitFor('the stop to begin', () => Promise.resolve(sup.output()), (o) => o.includes('ignoring SIGTERM'));
    // The debounce window itself is what is being tested: wait it out.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(sup.proc.exitCode).toBeNull();
    expect(sup.output()).not.toContain('killing every process now');
    sup.proc.kill('SIGINT');
    expect((await sup.exited).code).toBe(1);
    expect(sup.output()).toContain('[supervisor] SIGINT again: killing every process now (SIGKILL)');
    await expectAllGone(sup, ['stubborn']);
  });
});
