/**
 * A process started by the supervisor (scripts/supervisor.ts) that outlives
 * it, the supervisor having been killed outright (kill -9, the out-of-memory
 * killer), is left to init: nobody would restart or stop it, and the pipe its
 * output went to is gone. Such a process stops as on SIGTERM instead. Under a
 * container runtime or a shell that stays, the parent never changes and this
 * never fires. scripts/web-cluster.cjs does the same for the web server.
 */
export function stopWhenOrphaned(stop: (reason: string) => void, everyMs = 1_000): void {
  const parentAtStart = process.ppid;
  setInterval(() => {
    if (process.ppid !== parentAtStart) stop(`parent ${parentAtStart} exited`);
  }, everyMs).unref();
}
