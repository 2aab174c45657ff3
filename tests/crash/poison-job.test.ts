/**
 * A step that kills every worker that runs it (CRASH_AT without
 * CRASH_ONCE_FILE). worker/index.ts: "maxStalledCount 5: a job that keeps
 * killing its worker fails after 5 tries instead of looping forever; the
 * reconciler still re-drives its order." Once the cause is gone (a clean
 * worker), the order must not stay stuck.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { placeOrder } from '../../src/server/orders/place-order';
import { jobIds } from '../../src/server/queue/queues';
import { cartWith, customer, getOrder, newKey, seedProduct, stockOf, waitForState } from '../helpers';
import {
  auditIfAvailable,
  expectLegalHistories,
  expectOneIntent,
  expectStockConserved,
  newPrefix,
  prefixedDeps,
  sleep,
  startReadyWorker,
  stopAllWorkers,
  withTimeout,
  type PrefixedDeps,
} from './harness';

let m: PrefixedDeps | undefined;
afterEach(async () => {
  await stopAllWorkers();
  await m?.close();
  m = undefined;
});

describe('a job that keeps killing its worker', () => {
  it('fails after maxStalledCount kills, and the reconciler then re-drives its order', async () => {
    const prefix = newPrefix('poison');
    m = prefixedDeps(prefix);
    const queue = m.queues.queues.reservation;
    const sku = await seedProduct(2);
    const { orderId } = await placeOrder({ cartId: await cartWith([{ sku, qty: 1 }]), customer, idempotencyKey: newKey() }, m.deps);
    const jobId = jobIds.reserve(orderId);

    let kills = 0;
    let failed = false;
    for (let round = 0; round < 9 && !failed; round++) {
      const w = await startReadyWorker({ prefix, crashAt: 'reserve:after-holds' });
      const jobFailed = (async () => {
        while (w.managed.child.exitCode === null && w.managed.child.signalCode === null) {
          if ((await (await queue.getJob(jobId))?.getState()) === 'failed') return 'failed' as const;
          await sleep(100);
        }
        return 'exited' as const;
      })();
      const outcome = await withTimeout(Promise.race([w.exit.then(() => 'exited' as const), jobFailed]), 15_000, `round ${round}: a kill or the job's failure`);
      if (outcome === 'failed') {
        failed = true;
        await stopAllWorkers();
      } else {
        expect(await w.exit, `round ${round}: killed at the crash point`).toEqual({ code: null, signal: 'SIGKILL' });
        kills++;
      }
    }
    const job = await queue.getJob(jobId);
    expect(failed, `the job failed after ${kills} kills (state ${await job?.getState()})`).toBe(true);
    expect(job?.failedReason).toMatch(/stalled more than allowable limit/);
    expect(kills).toBe(6); // maxStalledCount 5: the sixth stall fails it
    expect((await getOrder(orderId)).state).toBe('CREATED');
    expect(await stockOf(sku)).toMatchObject({ available: 1, reserved: 1 }); // the holds the killed attempts took

    // The cause is gone: a clean worker whose reconciler runs often and calls an order stuck after 1 s.
    await startReadyWorker({ prefix, extraEnv: { RECONCILE_INTERVAL_MS: '500', STUCK_AFTER_MS: '1000' } });
    await waitForState(orderId, ['PAYMENT_PENDING'], 10_000).catch(async (err: Error) => {
      const again = await queue.getJob(jobId);
      throw new Error(
        `the reconciler did not re-drive order ${orderId}: still ${(await getOrder(orderId)).state}; ` +
          `job ${jobId} is ${await again?.getState()} (${again?.failedReason}); ${err.message.slice(0, 120)}`,
      );
    });
    await expectOneIntent(orderId, 'requires_payment_method');
    await expectStockConserved([sku], [orderId]);
    await expectLegalHistories([orderId]);
    await auditIfAvailable([orderId], [sku]);
  });
});
