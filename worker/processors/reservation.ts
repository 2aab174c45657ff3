import type { Job } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import { reserveOrder } from '../../src/server/orders/reserve-order';
import type { OrderJob } from '../../src/server/queue/queues';

export const reservationProcessor = (deps: Deps) => (job: Job<OrderJob>) => reserveOrder(job.data.orderId, deps);
