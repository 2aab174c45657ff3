import type { Job } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import type { WebhookEventJob } from '../../src/server/queue/queues';
import { processWebhookEvent } from '../../src/server/webhooks/process-event';

export const webhookEventProcessor = (deps: Deps) => (job: Job<WebhookEventJob>) => processWebhookEvent(job.data.eventId, deps);
