/**
 * Test support: what a test needs from the machine. Missing parts skip the test with a loud
 * message locally and fail it under CI=true, where .ci/run must have installed them.
 */
import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';

export const inCI = process.env.CI === 'true';

function loud(what: string): void {
  const line = `\n!!! SKIPPED: ${what} is not available on this machine; install it (see .ci/run) to run these tests.\n`;
  process.stderr.write(line);
}

/**
 * For a part a test starts itself (a local registry): reports it missing and returns false,
 * loudly locally; under CI=true it throws instead, with `why`.
 */
export function unavailable(what: string, why: string): false {
  if (inCI) throw new Error(`${what} is required under CI=true but could not be started: ${why}`);
  loud(`${what} (${why})`);
  return false;
}

/** Whether `binary` is on PATH. Under CI=true a missing binary throws (the suite fails). */
export function hasBinary(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (inCI) throw new Error(`${binary} is required under CI=true but is not installed`);
    loud(binary);
    return false;
  }
}

/** Whether a TCP server answers on host:port. Under CI=true an absent one throws. */
export async function hasServer(what: string, host: string, port: number): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
  if (!up) {
    if (inCI)
      throw new Error(`${what} on ${host}:${port} is required under CI=true but is not reachable`);
    loud(`${what} on ${host}:${port}`);
  }
  return up;
}

/** `describe`, or `describe.skip` when `available` is false. */
export function describeIf(available: boolean): jest.Describe {
  return available ? describe : describe.skip;
}
