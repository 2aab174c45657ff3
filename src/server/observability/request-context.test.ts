import { describe, expect, it } from 'vitest';
import { contextLogFields, currentRequestId, requestIdFrom, runInContext } from './request-context';

describe('request context', () => {
  it("keeps a caller's request id only when it is a plain token", () => {
    expect(requestIdFrom('req_abc-123.x:y')).toBe('req_abc-123.x:y');
    expect(requestIdFrom('  padded  ')).toBe('padded');
    for (const bad of [null, undefined, '', 'two words', 'x'.repeat(129), '-leading-dash', 'quote"', 'é']) {
      expect(requestIdFrom(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('follows the work through what it awaits, and gives the logger only the fields that are set', async () => {
    expect(currentRequestId()).toBeUndefined();
    expect(contextLogFields()).toEqual({});
    const seen = await runInContext({ requestId: 'r1', queue: 'reservation', orderId: undefined }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return { id: currentRequestId(), fields: contextLogFields() };
    });
    expect(seen).toEqual({ id: 'r1', fields: { requestId: 'r1', queue: 'reservation' } });
    expect(currentRequestId()).toBeUndefined();
  });
});
