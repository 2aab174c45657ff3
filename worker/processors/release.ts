import type { Job } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import { settleClosedOrder } from '../../src/server/orders/close-order';
import type { OrderJob } from '../../src/server/queue/queues';

export const releaseProcessor = (deps: Deps) => (job: Job<OrderJob>) => settleClosedOrder(job.data.orderId, deps);
