/**
 * Test support: the framework versions the tests run, and how to load the aliased ones.
 * Express 4 and Fastify 4 are installed under the aliases `express4` and `fastify4`. Module hooks match packages by their folder name, so an app loads a copy whose
 * folder has the real name (its dependencies resolve through NODE_PATH), the way a user's
 * install looks. Copies live in temporary folders removed by `removeAliasCopies()`.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const copies = new Map<string, string>();

/** Environment that makes a fixture load `alias` as `name` from `variable` (a module path). */
export function aliasEnv(alias: string, name: string, variable: string): Record<string, string> {
  let dir = copies.get(alias);
  if (dir === undefined) {
    dir = mkdtempSync(join(tmpdir(), `bizmon-${alias}-`));
    cpSync(join(root, 'node_modules', alias), join(dir, 'node_modules', name), {
      recursive: true,
    });
    copies.set(alias, dir);
  }
  return { [variable]: join(dir, 'node_modules', name), NODE_PATH: join(root, 'node_modules') };
}

export const express4Env = (): Record<string, string> =>
  aliasEnv('express4', 'express', 'EXPRESS_MODULE');
export const fastify4Env = (): Record<string, string> =>
  aliasEnv('fastify4', 'fastify', 'FASTIFY_MODULE');

/** Removes the copies (call in afterAll). */
export function removeAliasCopies(): void {
  for (const dir of copies.values()) rmSync(dir, { recursive: true, force: true });
  copies.clear();
}

/**
 * The apps of test/fixtures/differential: [name, fixture (DIFF_APP), environment], one per
 * framework version bizmon supports (the root devDependencies).
 */
export const differentialApps: [string, string, () => Record<string, string>][] = [
  ['Express 5', 'express', () => ({})],
  ['Express 4', 'express', express4Env],
  ['Fastify 5', 'fastify', () => ({})],
  ['Fastify 4', 'fastify', fastify4Env],
  ['Koa 3 + @koa/router', 'koa', () => ({})],
  ['NestJS 11 on Express 5', 'nest', () => ({})],
];
