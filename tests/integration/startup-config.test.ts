/** A missing or malformed variable stops each process at start with one message naming it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../setup/processes';

const badEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', STRIPE_SECRET_KEY: 'not-a-key', PORT: '4599' } as unknown as NodeJS.ProcessEnv;

function run(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, env: badEnv, encoding: 'utf8', timeout: 60_000 });
}

describe('start-up configuration', () => {
  it('stops the worker with one message naming the bad variables', () => {
    const res = run(['--import', 'tsx', 'worker/index.ts']);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('Invalid configuration: STRIPE_SECRET_KEY must look like sk_test_');
    expect(res.stderr).toContain('STRIPE_WEBHOOK_SECRET is required');
  });

  it('stops the web app before it serves anything', () => {
    const res = run([path.join(ROOT, 'node_modules/next/dist/bin/next'), 'start', '-p', '4599']);
    expect(res.status).toBe(1);
    expect(res.stderr + res.stdout).toContain('Invalid configuration: STRIPE_SECRET_KEY');
  });
});
