import type { Job } from 'bullmq';
import { finalizeOrder } from '../../src/server/orders/finalize-order';
import type { OrderJob } from '../../src/server/queue/queues';

export const finalizationProcessor = () => (job: Job<OrderJob>) => finalizeOrder(job.data.orderId);
