/**
 * The preload registers the instrumentations of pg, ioredis and the web frameworks when the app
 * first requires one of them (first-require.ts), so a process that never loads them never loads
 * OpenTelemetry's instrumentation framework (start-up cost, bench/startup.mjs). Checked in real
 * processes: jest's own module system does not go through `Module.prototype.require`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plugin as http } from '@bizmon/http/plugin';
import { plugin as pg } from '@bizmon/db';
import { plugin as ioredis } from '@bizmon/cache';
import { resolveConfig } from '@bizmon/core';
import type { BizmonPlugin } from '@bizmon/core/internal';

const FIRST_REQUIRE = require.resolve('../dist/first-require.js');
const REGISTER = require.resolve('@bizmon/node/register');

function run(script: string, args: string[] = [], cwd = __dirname): Record<string, unknown> {
  const r = spawnSync(process.execPath, [...args, '-e', script], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
    },
  });
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bizmon-first-require-'));
  const pkg = join(dir, 'node_modules', 'fakepkg');
  mkdirSync(join(pkg, 'lib'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), '{"name":"fakepkg","version":"1.0.0"}');
  writeFileSync(join(pkg, 'index.js'), "module.exports = require('./lib/inner');");
  writeFileSync(join(pkg, 'lib', 'inner.js'), 'module.exports = { inner: true };');
  writeFileSync(join(dir, 'other.js'), "require('node:path'); module.exports = 1;");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROBE = `
const Module = require('node:module');
const original = Module.prototype.require;
const { onFirstRequire } = require(${JSON.stringify(FIRST_REQUIRE)});
const seen = [];
let fired = 0;
let below;
onFirstRequire(['fakepkg'], () => {
  fired++;
  // What require-in-the-middle does: wrap the require of the moment.
  below = Module.prototype.require;
  Module.prototype.require = function (id) { seen.push(id); return below.apply(this, arguments); };
});
`;

test('fires once, before the first require of the package, and the hooks it installs see it', () => {
  const out = run(
    `${PROBE}
    require('./other.js');
    const firedBefore = fired;
    const exports = require('fakepkg');
    require('fakepkg/lib/inner');
    console.log(JSON.stringify({ firedBefore, fired, seen, inner: exports.inner }));`,
    [],
    dir,
  );
  expect(out).toEqual({
    firedBefore: 0,
    fired: 1,
    seen: ['fakepkg', './lib/inner', 'fakepkg/lib/inner'],
    inner: true,
  });
});

test("a package's own relative require fires it when the package was reached by path", () => {
  const out = run(
    `${PROBE}
    require(${JSON.stringify(join(dir, 'node_modules', 'fakepkg', 'index.js'))});
    console.log(JSON.stringify({ fired, seen }));`,
    [],
    dir,
  );
  expect(out).toEqual({ fired: 1, seen: ['./lib/inner'] });
});

test('hooks that wrapped it since stay above the ones it installs, and see the require once', () => {
  const out = run(
    `${PROBE}
    const outer = [];
    const below0 = Module.prototype.require;
    // An app's SDK hooking require after the preload, before it loads the package.
    Module.prototype.require = function (id) { outer.push(id); return below0.apply(this, arguments); };
    const sdkHook = Module.prototype.require;
    require('fakepkg');
    console.log(JSON.stringify({ fired, outer, seen, onTop: Module.prototype.require === sdkHook,
      belowIsOriginal: below === original }));`,
    [],
    dir,
  );
  expect(out).toEqual({
    fired: 1,
    outer: ['fakepkg', './lib/inner'],
    seen: ['fakepkg', './lib/inner'],
    onTop: true,
    belowIsOriginal: true,
  });
});

test('takes itself out of the chain when it fires, and leaves other requires alone', () => {
  const out = run(
    `${PROBE}
    const wrapper = Module.prototype.require;
    require('./other.js');
    const stillThere = Module.prototype.require === wrapper;
    require('fakepkg');
    // The hook installed when it fired wraps the original directly.
    const removed = below === original;
    console.log(JSON.stringify({ fired, stillThere, removed }));`,
    [],
    dir,
  );
  expect(out).toEqual({ fired: 1, stillThere: true, removed: true });
});

test('the preload loads the instrumentation framework only when the app loads a package it patches', () => {
  const out = run(
    `const loaded = () => Object.keys(require.cache).some((f) => f.includes('/@opentelemetry/instrumentation/'));
    const before = loaded();
    const { Client } = require('pg');
    // core's wrap.ts keeps its wrappers in this process-wide WeakMap.
    const patched = globalThis[Symbol.for('bizmon.wrappers.v1')].has(Client.prototype.query);
    console.log(JSON.stringify({ before, after: loaded(), patched }));`,
    ['--require', REGISTER],
  );
  expect(out).toEqual({ before: false, after: true, patched: true });
});

test('the preload loads @opentelemetry/api, and registers the global MeterProvider, when the app first requires it', () => {
  const out = run(
    `const loaded = () => Object.keys(require.cache).some((f) => f.includes('/@opentelemetry/api/'));
    const before = loaded();
    const { metrics } = require('@opentelemetry/api');
    console.log(JSON.stringify({ before, provider: metrics.getMeterProvider().constructor.name }));`,
    ['--require', REGISTER],
  );
  expect(out).toEqual({ before: false, provider: 'DeferredMeterProvider' });
});

test('every plugin names the packages its instrumentations patch (what the preload waits for)', () => {
  const config = resolveConfig({});
  for (const plugin of [http, pg, ioredis] as BizmonPlugin[]) {
    const instrumentations = plugin.instrumentations?.(config) ?? [];
    const names = instrumentations.flatMap((i) =>
      (i as unknown as { getModuleDefinitions(): { name: string }[] })
        .getModuleDefinitions()
        .map((d) => d.name),
    );
    for (const i of instrumentations) i.disable();
    expect([...new Set(names)].sort()).toEqual([...(plugin.modules ?? [])].sort());
  }
});
