/**
 * Runs a Supervisor as this process's job: starts the children, and on
 * SIGINT / SIGTERM / SIGHUP stops them gracefully and exits 0; a second
 * signal forces (SIGKILL) and exits 1. If this process dies of anything else
 * (an uncaught error), the children are killed on the way out rather than left
 * running without anyone to restart or stop them.
 */
import { Supervisor, type ChildSpec, type SupervisorOptions } from './supervisor';

/**
 * One Ctrl-C under `npm run` arrives twice within milliseconds: from the
 * terminal, and forwarded by npm. Signals this close together are one request.
 */
const SAME_REQUEST_MS = 1_000;

export function runSupervisor(specs: readonly ChildSpec[], options: SupervisorOptions = {}): Supervisor {
  // A closed terminal (EPIPE, EIO) must not take the supervisor down with its children mid-stop.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);

  const supervisor = new Supervisor(specs, options);
  let firstSignalAt: number | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (firstSignalAt === null) {
      firstSignalAt = now;
      supervisor.log(`${sig}: stopping every process (a second Ctrl-C or SIGTERM forces)`);
      supervisor.stop().then(
        () => {
          supervisor.log('all processes stopped');
          process.exit(0);
        },
        (err: unknown) => {
          supervisor.log(`stop failed: ${String(err)}`);
          process.exit(1);
        },
      );
      return;
    }
    if (now - firstSignalAt < SAME_REQUEST_MS) return;
    supervisor.log(`${sig} again: killing every process now (SIGKILL)`);
    supervisor.forceStop();
    process.exit(1);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  process.on('exit', () => supervisor.forceStop());

  supervisor.start();
  return supervisor;
}
