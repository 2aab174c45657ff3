/**
 * Running a script of load/ against the suite's app, worker, simulator,
 * database and Redis, and reading the Markdown table it prints.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { ROOT } from '../setup/processes';
import { appUrl, env, simUrl } from '../helpers';

/** Runs `load/<script>` with `settings` on top of where the suite's system is; waits for it to end. */
export function runAgainstSuite(script: string, settings: Record<string, string>, timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', `load/${script}`], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...settings,
      APP_URL: appUrl(),
      SIM_URL: simUrl(),
      MONGODB_URI: env('MONGODB_URI'),
      REDIS_URL: env('REDIS_URL'),
      QUEUE_PREFIX: env('QUEUE_PREFIX'),
      WORKER_HTTP_PORT: new URL(env('WORKER_URL')).port,
    },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

/** The rows of the Markdown table whose header's first cell is `first`, by their first cell; each row's cells. */
export function tableRows(stdout: string, first: string): { header: string[]; rows: Map<string, string[]> } {
  const cells = (line: string) => line.split('|').map((c) => c.trim());
  const lines = stdout.split('\n');
  const headerLine = lines.find((l) => l.startsWith(`| ${first} |`)) ?? '';
  const rows = new Map<string, string[]>();
  for (const line of lines) {
    if (!line.startsWith('| ') || line === headerLine) continue;
    const row = cells(line);
    rows.set(row[1] ?? '', row);
  }
  return { header: cells(headerLine), rows };
}
