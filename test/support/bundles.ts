/**
 * The packages Node loads from a bundle (scripts/bundle.mjs): those whose `exports` map points
 * at ./bundle/, read from their manifests as the bundler reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Manifest {
  exports?: Record<string, string | Record<string, string>>;
}

/** A package's `exports` entries whose CommonJS target is under ./bundle/ (`.`, `./internal`…). */
export function bundledEntries(name: string): string[] {
  const manifest = JSON.parse(
    readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'),
  ) as Manifest;
  return Object.entries(manifest.exports ?? {})
    .filter(([, target]) => {
      if (typeof target === 'string') return false;
      return /^\.\/bundle\//.test(target.require ?? target.default ?? '');
    })
    .map(([entry]) => entry);
}

/** The folder names under packages/ of the bundled packages. */
export function bundledPackages(): string[] {
  return readdirSync(join(root, 'packages'))
    .filter((name) => bundledEntries(name).length > 0)
    .sort();
}
