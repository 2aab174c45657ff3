/** Every scenario `npm run load -- <name>` knows, loaded on demand so one file's environment checks do not affect another. */
import type { Scenario } from '../lib/scenario';

export const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  'flash-sale-closed': async () => (await import('./flash-sale-closed')).default,
  'flash-sale-closed-200': async () => (await import('./flash-sale-closed')).flashSaleClosed(200),
  'flash-sale-open': async () => (await import('./flash-sale-open')).default,
  'retry-storm': async () => (await import('./retry-storm')).default,
  'webhook-storm': async () => (await import('./webhook-storm')).default,
  'steady-shopping': async () => (await import('./steady-shopping')).default,
};
