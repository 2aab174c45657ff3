/**
 * Who is calling, as far as the network can tell: the client address the
 * per-address rate limits count against.
 *
 * Headers are spoofable, so by default none is trusted: the address is the
 * TCP peer of the connection (recorded per request by the web process, see
 * src/instrumentation.ts). Only when TRUSTED_PROXIES = N proxies are known to
 * sit in front of the app is X-Forwarded-For read, and then only the entries
 * those N proxies appended: the address N hops to the left of the peer.
 * Anything a client wrote further left is never used.
 *
 * IPv6 clients are counted per /64, the block a single subscriber is
 * usually given, so rotating addresses inside it does not reset a limit.
 */
import { BlockList, isIP } from 'node:net';

/** Where the web process puts the TCP peer address of each request: a header name unknown to clients. */
const PEER_HEADER_KEY = Symbol.for('resilient-orders.peer-address-header');

type PeerGlobal = { [PEER_HEADER_KEY]?: string };

/** Called once per process by the HTTP layer that knows the socket; see src/instrumentation.ts. */
export function setPeerAddressHeader(name: string): void {
  (globalThis as PeerGlobal)[PEER_HEADER_KEY] = name;
}

/** The header the peer address is recorded in, or undefined when this process records none. */
export function peerAddressHeader(): string | undefined {
  return (globalThis as PeerGlobal)[PEER_HEADER_KEY];
}

/** `::ffff:1.2.3.4` is 1.2.3.4; anything that is not an IP address is null. */
export function normaliseAddress(raw: string | null | undefined): string | null {
  const value = raw?.trim();
  if (!value) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
  const address = mapped?.[1] ?? value;
  return isIP(address) ? address.toLowerCase() : null;
}

/**
 * The client address of a request: the peer, or with `trustedProxies` N the
 * X-Forwarded-For entry N hops before it. A chain shorter than N means the
 * request did not come through all the proxies: its leftmost entry is used,
 * which is still one a trusted proxy wrote. Null when there is no usable address.
 */
export function resolveClientAddress(peer: string | null | undefined, forwardedFor: string | null | undefined, trustedProxies: number): string | null {
  if (trustedProxies === 0) return normaliseAddress(peer);
  const chain = (forwardedFor ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  chain.push(peer ?? '');
  const index = Math.max(0, chain.length - 1 - trustedProxies);
  return normaliseAddress(chain[index]);
}

/** Eight 16-bit groups of an IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%', 1)[0] ?? '';
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The key a client address is counted under: the address itself for IPv4, its /64 for IPv6. */
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const prefix = ipv6Groups(address)
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':');
  return `${prefix}::/64`;
}

/**
 * Parses a comma-separated list of addresses and CIDR ranges (`none` or
 * empty: nothing). Throws naming the first entry that is not one.
 */
export function parseAddressRanges(list: string): BlockList {
  const ranges = new BlockList();
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e.toLowerCase() !== 'none');
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(`"${entry}" is not an IP address or CIDR range`);
    }
    ranges.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return ranges;
}

/** Whether `address` lies in one of `ranges`. */
export function inRanges(ranges: BlockList, address: string): boolean {
  return ranges.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}
