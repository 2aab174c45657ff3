import { describe, expect, it } from 'vitest';
import { customerKey } from './customer-key';

describe('customerKey', () => {
  it('is one key for the spellings that reach one mailbox', () => {
    expect(customerKey(' Asha@Example.COM ')).toBe('asha@example.com');
    expect(customerKey('asha+deals@example.com')).toBe('asha@example.com');
    expect(customerKey('A.sha+1@GoogleMail.com')).toBe('asha@gmail.com');
    expect(customerKey('a.sha@gmail.com')).toBe('asha@gmail.com');
  });

  it('keeps what distinguishes mailboxes elsewhere', () => {
    expect(customerKey('a.sha@example.com')).toBe('a.sha@example.com');
    expect(customerKey('+asha@example.com')).toBe('+asha@example.com');
  });
});
