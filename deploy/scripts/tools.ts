import { execFileSync } from 'node:child_process';

/**
 * Locates an external tool the deploy checks need (promtool, amtool, prometheus). Missing
 * locally: returns undefined after a loud message, so the caller skips. Missing under
 * CI=true: throws, because CI must run every check.
 */
export function findTool(name: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    const message = `${name} is not installed (Debian: prometheus / prometheus-alertmanager); its deploy checks are SKIPPED`;
    if (process.env.CI === 'true') throw new Error(`${message} — not allowed under CI=true`);
    console.warn(`\n!!! ${message} !!!\n`);
    return undefined;
  }
}
