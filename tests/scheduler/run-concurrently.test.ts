/**
 * runConcurrently outside the scheduler (as in production): every branch ends
 * before it settles, and the first failure in the order given is the one it
 * rejects with.
 */
import { describe, expect, it } from 'vitest';
import { runConcurrently } from '../../prisma-free-models/operation-gate';

const later = (ms: number, effect: () => void) => () => new Promise<void>((resolve) => setTimeout(() => (effect(), resolve()), ms));
const failing = (ms: number, message: string) => () => new Promise<void>((_, reject) => setTimeout(() => reject(new Error(message)), ms));

describe('runConcurrently', () => {
  it('starts every branch at once and resolves when the last has ended', async () => {
    const log: string[] = [];
    const branch = (name: string, ms: number) => () => {
      log.push(`${name} started`);
      return later(ms, () => log.push(`${name} ended`))();
    };
    await runConcurrently([branch('slow', 40), branch('fast', 0)]);
    expect(log).toEqual(['slow started', 'fast started', 'fast ended', 'slow ended']);
  });

  it('rejects only after every branch ended, with the first failure in the order given', async () => {
    let slowEnded = false;
    const run = runConcurrently([later(50, () => (slowEnded = true)), failing(20, 'second'), failing(0, 'third')]);
    await expect(run).rejects.toThrow('second');
    expect(slowEnded).toBe(true);
  });
});
