/**
 * The typed client from another package's side: `npm run build:client`
 * builds it, examples/typed-client (a package of its own that depends on
 * this one, linked as `npm install` links a file: dependency) type-checks
 * against the built declarations, then runs against the suite's app and
 * simulator: it places an order, pays it and follows it to CONFIRMED.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appUrl, expectNoViolations, getOrder, seedProduct, simUrl, stockOf } from '../helpers';
import { ROOT } from '../setup/processes';

const EXAMPLE = path.join(ROOT, 'examples', 'typed-client');

/** What `npm install` does for `"resilient-orders": "file:../.."`: a link in the example's node_modules. */
function linkPackage(): void {
  const link = path.join(EXAMPLE, 'node_modules', 'resilient-orders');
  mkdirSync(path.dirname(link), { recursive: true });
  try {
    if (path.resolve(path.dirname(link), readlinkSync(link)) === ROOT) return;
  } catch {
    // not linked yet
  }
  symlinkSync(path.relative(path.dirname(link), ROOT), link, 'dir');
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 180_000) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const built = await run('bash', ['scripts/build-client.sh']);
  if (built.status !== 0) throw new Error(`build:client failed:\n${built.stdout}\n${built.stderr}`);
  linkPackage();
}, 300_000);

describe('typed client for other TypeScript apps', () => {
  it('type-checks another package against the built declarations (resilient-orders/client)', () => {
    const res = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', EXAMPLE], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  }, 150_000);

  it('runs the example: places an order, pays it at the simulator and follows it to CONFIRMED', async () => {
    const sku = await seedProduct(2, 59_900);
    const res = await run(process.execPath, ['--import', 'tsx', path.join(EXAMPLE, 'place-and-pay.ts')], {
      ...process.env,
      ORDERS_URL: appUrl(),
      SIM_URL: simUrl(),
      SKU: sku,
      TIMEOUT_MS: '60000',
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const result = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { orderId: string; state: string; paymentIntentId: string };
    expect(result.state).toBe('CONFIRMED');
    const order = await getOrder(result.orderId);
    expect(order).toMatchObject({ state: 'CONFIRMED', paymentIntentId: result.paymentIntentId });
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 0, sold: 1 });
    await expectNoViolations({ orderIds: [result.orderId], skus: [sku] });
  }, 120_000);
});
