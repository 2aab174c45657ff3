/**
 * For the abuse tests: web apps of the test's own, with limits the suite's
 * app has out of the way (tests/setup/test-env.ts), and clients that call
 * from a chosen loopback address, so the app sees distinct clients over
 * real TCP connections.
 *
 * A limits app shares the suite's database, Redis and queue prefix: the
 * suite's worker reserves its orders, and two limits apps count in the same
 * Redis counters, as two production web processes do. Ports: TEST_APP_PORT
 * + 7 and + 8 (+1..+3 belong to the multi-process test, +4 and +6 to the
 * production-artifact test, +5 to the suite's worker).
 */
import { randomInt } from 'node:crypto';
import http from 'node:http';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../../src/server/api/root';
import { APP_PORT, SUITE_LIMITS } from '../setup/test-env';
import { assertPortFree, ProcessGroup, startNextApp, waitForHttp } from '../setup/processes';

export const LIMITS_APP_PORTS = [APP_PORT + 7, APP_PORT + 8] as const;

export interface LimitsApps {
  urls: string[];
  /** Each app's process, in the order of `urls` (to pause one with SIGSTOP). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Starts one `next start` per port with the suite's environment, its limits
 * back on their defaults, plus `env`; resolves once each answers /api/health.
 */
export async function startLimitsApps(name: string, ports: readonly number[], env: Record<string, string>): Promise<LimitsApps> {
  const inherited = { ...process.env };
  for (const key of Object.keys(SUITE_LIMITS)) delete inherited[key];
  const group = new ProcessGroup();
  try {
    const started = await Promise.all(
      ports.map(async (port, i) => {
        await assertPortFree(port, `${name} web app`);
        const app = group.add(startNextApp(`${name}-${i + 1}`, port, { ...inherited, ...env, SERVICE_NAME: `${name}-${i + 1}` }));
        const url = `http://127.0.0.1:${port}`;
        await waitForHttp(`${url}/api/health`, 90_000, app);
        return { url, pid: app.child.pid as number };
      }),
    );
    return { urls: started.map((s) => s.url), pids: started.map((s) => s.pid), stop: () => group.stopAll() };
  } catch (err) {
    await group.stopAll();
    throw err;
  }
}

/** A loopback address of its own (127.x.y.z), for one client of one test. */
export const newClientAddress = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** fetch over a connection from `localAddress`: the app sees that address as the TCP peer. */
export function fetchFrom(localAddress: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body == null ? undefined : typeof init.body === 'string' ? init.body : Buffer.from(await new Response(init.body).arrayBuffer());
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    return new Promise<Response>((resolve, reject) => {
      const req = http.request(url, { method: init?.method ?? 'GET', headers, localAddress, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** A typed tRPC client calling `baseUrl` from `localAddress`, with extra headers (an Idempotency-Key, a forged X-Forwarded-For). */
export function clientFrom(baseUrl: string, localAddress: string, headers: Record<string, string> = {}) {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/api/trpc`, headers: () => headers, fetch: fetchFrom(localAddress) })] });
}
