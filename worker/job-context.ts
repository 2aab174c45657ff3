/**
 * Runs each job attempt as one unit of work: every log line it writes carries
 * the request id its payload brought (so a grep for the id of the request that
 * placed an order finds the worker's lines too), the queue, the job id and the
 * order or event it is about; jobs it enqueues carry the same request id on.
 * Each attempt's duration is recorded per queue (one queue per step).
 */
import type { Processor } from 'bullmq';
import { timeJob } from '../src/server/metrics/domain-metrics';
import { runInContext, type WorkContext } from '../src/server/observability/request-context';

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function inJobContext<T>(queue: string, processor: Processor<T, unknown>): Processor<T, unknown> {
  return async (job, token) => {
    const data = (job.data ?? {}) as { requestId?: unknown; orderId?: unknown; eventId?: unknown };
    const context: WorkContext = {
      // A job no request caused (the reconciler's schedule, a job from before
      // request ids) is a request of its own, under an id stable across its retries.
      requestId: text(data.requestId) ?? `${queue}:${job.id ?? job.name}`,
      queue,
      jobId: job.id,
      orderId: text(data.orderId),
      eventId: text(data.eventId),
    };
    const done = timeJob(queue);
    try {
      const result = await runInContext(context, () => processor(job, token));
      done('completed');
      return result;
    } catch (err) {
      done('failed');
      throw err;
    }
  };
}
