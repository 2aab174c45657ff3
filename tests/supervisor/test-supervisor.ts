/**
 * The supervisor of scripts/supervisor/ running children chosen by a test,
 * with short delays so restarts and stops fit in a test's time:
 *
 *   SUP_TEST_CHILDREN=simulator,crasher SUP_TEST_SIM_PORT=... node --import tsx tests/supervisor/test-supervisor.ts
 *
 *   simulator  the real payment simulator on SUP_TEST_SIM_PORT
 *   crasher    exits with code 3 as soon as it starts
 *   stubborn   ignores SIGTERM (prints "ready" once it does)
 */
import path from 'node:path';
import { runSupervisor } from '../../scripts/supervisor/run';
import type { ChildSpec } from '../../scripts/supervisor/supervisor';

const node = process.execPath;
const children: Record<string, Omit<ChildSpec, 'name'>> = {
  simulator: {
    command: node,
    args: ['--import', 'tsx', 'src/payment-simulator/main.ts'],
    env: { SIM_PORT: process.env.SUP_TEST_SIM_PORT ?? '', STRIPE_WEBHOOK_SECRET: 'whsec_supervisor_test' },
  },
  crasher: { command: node, args: ['-e', 'process.exit(3)'] },
  stubborn: {
    command: node,
    args: ['-e', "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)"],
  },
};

const names = (process.env.SUP_TEST_CHILDREN ?? '').split(',').filter(Boolean);
runSupervisor(
  names.map((name) => {
    const spec = children[name];
    if (!spec) throw new Error(`unknown test child ${name}`);
    return { name, ...spec };
  }),
  {
    cwd: path.resolve(__dirname, '../..'),
    backoff: { initialMs: 200, maxMs: 5_000, resetAfterMs: 10_000 },
    stopGraceMs: Number(process.env.SUP_TEST_GRACE_MS ?? 5_000),
  },
);
