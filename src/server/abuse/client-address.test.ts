import { describe, expect, it } from 'vitest';
import { addressBucket, inRanges, normaliseAddress, parseAddressRanges, resolveClientAddress } from './client-address';

describe('client address', () => {
  it('trusts no header by default: the TCP peer is the client', () => {
    expect(resolveClientAddress('203.0.113.9', '198.51.100.1', 0)).toBe('203.0.113.9');
    expect(resolveClientAddress('::ffff:203.0.113.9', null, 0)).toBe('203.0.113.9');
    expect(resolveClientAddress(null, '198.51.100.1', 0)).toBeNull();
  });

  it('with N trusted proxies, takes the entry N hops before the peer, never what the client wrote further left', () => {
    // client forged "1.1.1.1"; the proxy appended the real client 198.51.100.7; the proxy itself connects.
    expect(resolveClientAddress('10.0.0.2', '1.1.1.1, 198.51.100.7', 1)).toBe('198.51.100.7');
    expect(resolveClientAddress('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.1', 2)).toBe('198.51.100.7');
    // A chain shorter than the proxies: the leftmost entry, still written by a proxy.
    expect(resolveClientAddress('10.0.0.2', '198.51.100.7', 3)).toBe('198.51.100.7');
    expect(resolveClientAddress('10.0.0.2', 'not-an-ip', 1)).toBeNull();
  });

  it('normalises addresses and counts IPv6 clients per /64', () => {
    expect(normaliseAddress(' 2001:DB8::1 ')).toBe('2001:db8::1');
    expect(normaliseAddress('999.1.1.1')).toBeNull();
    expect(addressBucket('192.0.2.1')).toBe('192.0.2.1');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('parses exempt ranges and matches addresses in them', () => {
    const ranges = parseAddressRanges('127.0.0.0/8, ::1, 2001:db8::/32');
    expect(inRanges(ranges, '127.4.5.6')).toBe(true);
    expect(inRanges(ranges, '::1')).toBe(true);
    expect(inRanges(ranges, '2001:db8:ffff::9')).toBe(true);
    expect(inRanges(ranges, '128.0.0.1')).toBe(false);
    expect(inRanges(parseAddressRanges('none'), '127.0.0.1')).toBe(false);
    expect(() => parseAddressRanges('10.0.0.0/8/1')).toThrow(/not an IP address/);
    expect(() => parseAddressRanges('::/129')).toThrow(/not an IP address/);
  });
});
