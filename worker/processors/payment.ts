import type { Job } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import { requestPayment } from '../../src/server/orders/request-payment';
import type { OrderJob } from '../../src/server/queue/queues';

export const paymentProcessor = (deps: Deps) => (job: Job<OrderJob>) => requestPayment(job.data.orderId, deps);
