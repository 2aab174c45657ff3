/**
 * Which domain step runs for a job of each queue: the one mapping from queue
 * to processor, used by the worker process and by the tests' own job runner.
 */
import type { Processor } from 'bullmq';
import type { Deps } from '../../src/server/deps';
import { QUEUE_NAMES, type QueueName } from '../../src/server/queue/queues';
import { expiryProcessor } from './expiry';
import { finalizationProcessor } from './finalization';
import { maintenanceProcessor, type MaintenanceConfig } from './maintenance';
import { paymentProcessor } from './payment';
import { releaseProcessor } from './release';
import { reservationProcessor } from './reservation';
import { webhookEventProcessor } from './webhook-events';

export function processorsByQueue(
  deps: Deps,
  config: MaintenanceConfig,
): Record<QueueName, Processor<never, unknown>> {
  return {
    [QUEUE_NAMES.reservation]: reservationProcessor(deps),
    [QUEUE_NAMES.payment]: paymentProcessor(deps),
    [QUEUE_NAMES.webhookEvents]: webhookEventProcessor(deps),
    [QUEUE_NAMES.finalization]: finalizationProcessor(),
    [QUEUE_NAMES.expiry]: expiryProcessor(deps),
    [QUEUE_NAMES.release]: releaseProcessor(deps),
    [QUEUE_NAMES.maintenance]: maintenanceProcessor(deps, config),
  };
}
