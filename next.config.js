/** @type {import('next').NextConfig} */
// Added to every answer; the API fast path (src/server/http/fast-path.ts) adds the same.
const siteHeaders = require('./src/server/http/site-headers.json');

const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The production image runs `node server.js` from .next/standalone: the
  // server plus only the node_modules files it really loads (docker/Dockerfile).
  output: 'standalone',
  // Trace from this folder, not from a parent that happens to hold a lock file.
  outputFileTracingRoot: __dirname,
  // Server-only packages with native or dynamic requires stay out of the bundle
  // (Bull Board finds its UI files with require.resolve at run time).
  serverExternalPackages: ['mongoose', 'mongodb', 'bullmq', 'ioredis', 'pino', 'prom-client', 'stripe', '@bull-board/api', '@bull-board/hono', '@bull-board/ui', 'hono'],
  eslint: { ignoreDuringBuilds: true }, // lint runs in `npm run check`, once
  async headers() {
    return [
      {
        source: '/:path*',
        // Order pages are capabilities; no URL of ours is ever sent to another site (Stripe, the 3-D Secure page).
        headers: Object.entries(siteHeaders).map(([key, value]) => ({ key, value })),
      },
    ];
  },
};

module.exports = nextConfig;
