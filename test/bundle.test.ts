/**
 * The bundles Node loads (scripts/bundle.mjs): each package's entry points are small files in
 * bundle/ over one bundle/modules.js. An ESM app's `import { … }` must see every name the
 * package exports, and only those (Node reads them from the entry file's source, not by running
 * it); and the bundle must be built from the current dist/, or the tests would test old code.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundledEntries, bundledPackages } from './support/bundles';

const runFile = promisify(execFile);
const root = join(__dirname, '..');
const BUNDLED = bundledPackages();
/** Every bundled entry point, as `@bizmon/<package>[/<subpath>]` (register starts bizmon: left out). */
const ENTRIES = BUNDLED.flatMap((name) =>
  bundledEntries(name)
    .filter((entry) => entry !== './register')
    .map((entry) => `@bizmon/${name}${entry.slice(1)}`),
);

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
}

describe('the bundles', () => {
  test('are those of the packages the preload loads, with their entry points', () => {
    expect(BUNDLED).toEqual(['business', 'cache', 'core', 'db', 'http', 'node']);
    expect(ENTRIES.sort()).toEqual([
      '@bizmon/business',
      '@bizmon/business/plugin',
      '@bizmon/cache',
      '@bizmon/core',
      '@bizmon/core/internal',
      '@bizmon/db',
      '@bizmon/db/plugin',
      '@bizmon/http',
      '@bizmon/http/plugin',
      '@bizmon/node',
    ]);
  });

  test.each(BUNDLED)('@bizmon/%s: bundle/modules.js is newer than every file of dist/', (name) => {
    const bundle = statSync(join(root, 'packages', name, 'bundle', 'modules.js')).mtimeMs;
    const stale = jsFiles(join(root, 'packages', name, 'dist')).filter(
      (f) => statSync(f).mtimeMs > bundle,
    );
    // Built with `tsc -b` alone: run `npm run build` (or `node scripts/bundle.mjs`).
    expect(stale).toEqual([]);
  });

  test.each(ENTRIES)('%s: ESM sees exactly the names CommonJS does', async (entry) => {
    const script = `
      import * as esm from ${JSON.stringify(entry)};
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)(${JSON.stringify(entry)});
      const names = (o) => Object.keys(o).filter((k) => k !== 'default' && k !== '__esModule').sort();
      console.log(JSON.stringify({ esm: names(esm), cjs: names(cjs) }));
    `;
    const { stdout } = await runFile(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    const { esm, cjs } = JSON.parse(stdout) as { esm: string[]; cjs: string[] };
    expect(cjs.length).toBeGreaterThan(0);
    expect(esm).toEqual(cjs);
  });
});
