/**
 * A TCP forwarder that can hold traffic: while held, bytes from the clients are
 * kept (not dropped) instead of reaching the upstream, and release() sends them
 * on in order. Put between a process and one of its dependencies (Redis, the
 * Stripe API), it makes "a request is in flight, waiting on that dependency" a
 * state a test can create and end at will, on the real processes.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface HoldingProxy {
  port: number;
  /** Chunks kept from clients since hold(), across every connection. */
  heldChunks(): number;
  /** Whether the bytes kept since hold() contain `text` (e.g. a key a command names). */
  heldIncludes(text: string): boolean;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  queue: Buffer[];
}

export async function startHoldingProxy(upstreamHost: string, upstreamPort: number): Promise<HoldingProxy> {
  const pipes = new Set<Pipe>();
  let holding = false;
  let held = 0;

  const server = createServer((client) => {
    const upstream = createConnection({ host: upstreamHost, port: upstreamPort });
    const pipe: Pipe = { client, upstream, queue: [] };
    pipes.add(pipe);
    client.on('data', (chunk: Buffer) => {
      if (holding) {
        pipe.queue.push(chunk);
        held++;
      } else {
        upstream.write(chunk);
      }
    });
    upstream.pipe(client);
    const end = () => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  return {
    port: address.port,
    heldChunks: () => held,
    heldIncludes: (text) => [...pipes].some((pipe) => Buffer.concat(pipe.queue).includes(text)),
    hold: () => {
      holding = true;
      held = 0;
    },
    release: () => {
      holding = false;
      for (const pipe of pipes) {
        for (const chunk of pipe.queue) pipe.upstream.write(chunk);
        pipe.queue = [];
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pipe of pipes) {
          pipe.client.destroy();
          pipe.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
