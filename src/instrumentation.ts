/**
 * Runs once when the Next server starts (see instrumentation-node.ts). The
 * Node-only part is imported under the NEXT_RUNTIME check, the form Next's
 * bundler drops from the edge build (the middleware's), where its imports
 * (BullMQ, ioredis) cannot compile.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.NEXT_PHASE !== 'phase-production-build') {
    const { registerNode } = await import('./instrumentation-node');
    await registerNode();
  }
}
