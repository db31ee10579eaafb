/**
 * What makes each package publishable, read from its package.json: the fields a registry and a
 * user's npm need, ranges rather than pins, and the libraries the app brings as optional peers.
 * test/consumer.test.ts then installs the packed packages for real.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIZMON_VERSION } from '@bizmon/core';
import { bundledPackages } from './support/bundles';

const root = join(__dirname, '..');
const PUBLISHED = ['core', 'http', 'db', 'cache', 'business', 'alerting', 'node'];
/** Libraries an app brings; bizmon must use the app's copy, never install its own. */
const APP_LIBRARIES = ['pg', 'pg-pool', 'ioredis', 'express', 'fastify', 'koa', '@nestjs/core'];

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  [field: string]: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  scripts?: Record<string, string>;
  bin?: Record<string, string>;
}

const manifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');

test('the root LICENSE is the Apache License 2.0 that package.json names', () => {
  expect(manifest('.').license).toBe('Apache-2.0');
  expect(rootLicense).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
});

describe.each(PUBLISHED)('@bizmon/%s', (name) => {
  const dir = join('packages', name);
  const pkg = manifest(dir);

  test('has what a registry and a user need, and builds when packed', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(root, dir, 'LICENSE'), 'utf8')).toBe(rootLicense);
    for (const field of ['description', 'keywords', 'repository', 'engines', 'types', 'exports'])
      expect({ field, present: pkg[field] !== undefined }).toEqual({ field, present: true });
    // The packages Node loads into an app ship their bundle (scripts/bundle.mjs) and types;
    // alerting ships tsc's output.
    const bundled = bundledPackages().includes(name);
    expect(pkg.files).toEqual(
      expect.arrayContaining(bundled ? ['bundle', 'dist/**/*.d.ts'] : ['dist']),
    );
    expect(pkg.scripts?.prepack).toBe(
      bundled ? `tsc -b && node ../../scripts/bundle.mjs ${name}` : 'tsc -b',
    );
    expect(pkg.publishConfig).toEqual({ access: 'public' });
  });

  test('depends on bizmon and OpenTelemetry by range, and on no library the app brings', () => {
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
      expect({ dep, isRange: /^\^|\|\|/.test(range) }).toEqual({ dep, isRange: true });
      expect(APP_LIBRARIES).not.toContain(dep);
    }
    for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
      if (peer === '@opentelemetry/api') continue;
      expect({ peer, meta: pkg.peerDependenciesMeta?.[peer] }).toEqual({
        peer,
        meta: { optional: true },
      });
    }
    if (pkg.peerDependencies?.['@opentelemetry/api'])
      expect(pkg.peerDependencies['@opentelemetry/api']).toBe('^1.9.0');
  });
});

test("@bizmon/alerting's bin is a committed file, so npm links it before the build", () => {
  const { bin } = manifest('packages/alerting');
  expect(bin).toEqual({ 'bizmon-alert-bridge': './bin/bizmon-alert-bridge.js' });
  const tracked = execFileSync('git', ['ls-files', 'packages/alerting/bin'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(tracked.trim().split('\n')).toEqual(['packages/alerting/bin/bizmon-alert-bridge.js']);
  expect(existsSync(join(root, 'packages/alerting/examples/bridge.yml'))).toBe(true);
});

test('the demo stays private and out of the changesets', () => {
  expect(manifest('packages/demo').private).toBe(true);
  const config = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8')) as {
    ignore: string[];
    fixed: string[][];
  };
  expect(config.ignore).toEqual(['@bizmon/demo']);
  expect(config.fixed).toEqual([PUBLISHED.map((p) => `@bizmon/${p}`)]);
});

test("each package's src/version.ts is its package.json version (scripts/version-update.mjs)", () => {
  execFileSync(process.execPath, [join(root, 'scripts', 'version-update.mjs'), '--check'], {
    stdio: 'pipe',
  });
  const generated = ['core', 'http', 'db', 'cache'];
  for (const dir of generated) {
    const source = readFileSync(join(root, 'packages', dir, 'src', 'version.ts'), 'utf8');
    expect(source).toContain(`export const VERSION = '${manifest(`packages/${dir}`).version}';`);
  }
  // system_info's bizmon_version and the scope's version.
  expect(BIZMON_VERSION).toBe(manifest('packages/core').version);
  // No version is typed by hand anywhere else in the packages' sources.
  const handTyped: string[] = [];
  for (const dir of PUBLISHED) {
    const src = join(root, 'packages', dir, 'src');
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
      if (!/\.m?ts$/.test(file) || (file === 'version.ts' && generated.includes(dir))) continue;
      if (/VERSION\s*=\s*['"]\d/.test(readFileSync(join(src, file), 'utf8')))
        handTyped.push(`packages/${dir}/src/${file}`);
    }
  }
  expect(handTyped).toEqual([]);
});
