import type { Job } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import { expireOrder } from '../../src/server/orders/close-order';
import type { OrderJob } from '../../src/server/queue/queues';

export const expiryProcessor = (deps: Deps) => (job: Job<OrderJob>) => expireOrder(job.data.orderId, deps);
