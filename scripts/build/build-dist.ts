/**
 * Compiles the Node processes other than the web app into plain JavaScript
 * under dist/, so production runs them with `node` alone (no tsx, no
 * TypeScript, no dev dependencies):
 *
 *   dist/worker/index.js       the BullMQ worker (the worker image's command)
 *   dist/simulator/main.js     the payment simulator (compose's `simulator` profile)
 *   dist/seed/index.js         the demo catalogue
 *   dist/invariants/index.js   the invariant auditor, for operators
 *
 * Each entry is bundled with our own code only: path aliases (`@/`, `@models/`)
 * are resolved from tsconfig.json, npm packages stay `require`d from
 * node_modules. The build fails if an entry needs a package that is not a
 * production dependency, because the worker image installs only those
 * (`npm ci --omit=dev`). Type checking is `npm run check`'s job, not this one's.
 *
 * Every output sits two folders below the root (dist/<name>/<file>.js): the
 * simulator finds its default state file two levels up from `__dirname`
 * (`<root>/.data/...`), from its source and from its bundle alike.
 */
import { builtinModules } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'dist');

const DIST_ENTRIES: Record<string, string> = {
  'worker/index': 'worker/index.ts',
  'simulator/main': 'src/payment-simulator/main.ts',
  'seed/index': 'scripts/seed.ts',
  'invariants/index': 'scripts/invariants.ts',
};

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

async function main(): Promise<void> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const production = new Set(Object.keys(pkg.dependencies ?? {}));
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

  // Only this build's folders: dist/client is the typed client's (build:client).
  for (const out of Object.keys(DIST_ENTRIES)) rmSync(path.join(OUT, path.dirname(out)), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(DIST_ENTRIES).map(([out, src]) => [out, path.join(ROOT, src)])),
    outdir: OUT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true, // run with --enable-source-maps: stack traces name the .ts lines
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });

  const missing = new Map<string, Set<string>>();
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || builtins.has(imp.path)) continue;
      const name = packageOf(imp.path);
      if (production.has(name)) continue;
      missing.set(name, (missing.get(name) ?? new Set()).add(path.relative(ROOT, file)));
    }
  }
  if (missing.size > 0) {
    const lines = [...missing].map(([name, files]) => `  ${name} (needed by ${[...files].join(', ')})`);
    process.stderr.write(`[build] these packages are needed at run time but are not production dependencies in package.json:\n${lines.join('\n')}\n`);
    process.exit(1);
  }
  process.stderr.write(`[build] dist/: ${Object.keys(DIST_ENTRIES).map((e) => `${e}.js`).join(', ')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[build] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
