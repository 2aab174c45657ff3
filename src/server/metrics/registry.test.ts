import { describe, expect, it } from 'vitest';
import { scrapeAllowed } from './registry';

describe('metrics scrape access', () => {
  it('is open without a token, and with one takes only its Bearer header', () => {
    expect(scrapeAllowed(null, undefined)).toBe(true);
    expect(scrapeAllowed('anything', undefined)).toBe(true);
    const token = 'a-metrics-token-of-length';
    expect(scrapeAllowed(`Bearer ${token}`, token)).toBe(true);
    expect(scrapeAllowed(null, token)).toBe(false);
    expect(scrapeAllowed(token, token)).toBe(false);
    expect(scrapeAllowed(`Bearer ${token}x`, token)).toBe(false);
  });
});
