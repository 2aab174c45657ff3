// The images' HEALTHCHECK: `node docker/healthcheck.js URL...` exits 0 when
// every URL answers 2xx within 3 s, else 1 with one line saying which did not
// (docker inspect shows it). `${NAME}` in a URL is filled in from the
// environment, so the Dockerfile can use the exec form (no shell) and still
// follow PORT / WORKER_HTTP_PORT. Plain CommonJS with no dependencies: the slim
// base image has no curl or wget, and the check must not load the app.
'use strict';

const urls = process.argv.slice(2).map((arg) =>
  arg.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name) => {
    const value = process.env[name];
    if (!value) {
      console.error(`unhealthy: ${name} is not set (needed by ${arg})`);
      process.exit(1);
    }
    return value;
  }),
);
if (urls.length === 0) {
  console.error('usage: node docker/healthcheck.js URL...');
  process.exit(2);
}

async function probe(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? null : `${url}: HTTP ${res.status}`;
  } catch (err) {
    return `${url}: ${err && err.cause ? err.cause.code || err.cause.message : err.message}`;
  }
}

// In order: a process that is not live is not asked whether it is ready.
(async () => {
  for (const url of urls) {
    const problem = await probe(url);
    if (problem) {
      console.error(`unhealthy: ${problem}`);
      process.exit(1);
    }
  }
  console.log(`healthy: ${urls.join(' ')}`);
})();
