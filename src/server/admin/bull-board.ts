/**
 * Bull Board (@bull-board/api with its Hono adapter) over the app's queues,
 * as a fetch handler: Hono apps take a web Request and return a Response,
 * which is what a Next App Router route handler is, so the board is mounted
 * by src/app/admin/queues/[[...path]]/route.ts behind the console's sign-in
 * without a second HTTP server. Its static files (the UI bundle) are read
 * from @bull-board/ui's folder and nowhere else.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import { serveStatic, type ServeStaticOptions } from 'hono/serve-static';

export const BULL_BOARD_PATH = '/admin/queues';

type StaticOptions = ServeStaticOptions & { root?: string };

/** Hono's runtime-neutral serveStatic with a file reader confined to the folder the adapter names. */
function serveBoardStatic(options: StaticOptions) {
  const root = path.resolve(options.root ?? '.');
  return serveStatic({
    ...options,
    getContent: async (file: string) => {
      const resolved = path.resolve(file);
      if (!resolved.startsWith(root + path.sep)) return null;
      try {
        return await readFile(resolved);
      } catch {
        return null;
      }
    },
  });
}

/** A fetch handler serving Bull Board under BULL_BOARD_PATH for these queues. Not authenticated: the caller checks the operator first. */
export function createBullBoardHandler(queues: Queue[], opts: { readOnly?: boolean } = {}): (req: Request) => Promise<Response> {
  const serverAdapter = new HonoAdapter(serveBoardStatic);
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly ?? false, allowRetries: true })),
    serverAdapter,
    // The way back to the console; no link out to bull-board's documentation site.
    options: { uiConfig: { boardTitle: 'Resilient Orders queues', miscLinks: [{ text: 'Operator console', url: '/admin' }], hideDocsLink: true } },
  });
  const app = new Hono();
  app.route(BULL_BOARD_PATH, serverAdapter.registerPlugin());
  return async (req) => app.fetch(req);
}
