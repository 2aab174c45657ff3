/**
 * The TCP peer address of each request, for the per-address rate limits
 * (src/server/abuse/client-address.ts). Route handlers only see a fetch
 * Request, and Next fills X-Forwarded-For from the socket only when the client
 * sent none, so neither tells who is really connected. Node publishes every
 * incoming request on the `http.server.request.start` diagnostics channel,
 * with its socket, before any handler runs: the address is copied into a
 * request header whose name is random per process, so no client can send it.
 */
import { randomBytes } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setPeerAddressHeader } from '../abuse/client-address';

let recording = false;

export function recordPeerAddresses(): void {
  if (recording) return;
  recording = true;
  const header = `x-peer-${randomBytes(12).toString('hex')}`;
  subscribe('http.server.request.start', (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    const address = socket.remoteAddress;
    if (address) request.headers[header] = address;
  });
  setPeerAddressHeader(header);
}
