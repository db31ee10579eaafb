/**
 * Test support: Express 4 and Fastify 4 are installed under the aliases `express4` and
 * `fastify4`. Module hooks match packages by their folder name, so an app loads a copy whose
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
