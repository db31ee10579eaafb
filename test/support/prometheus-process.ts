/**
 * Test support: starts a Prometheus-family server (prometheus, alertmanager) on a free
 * loopback port and waits for its `/-/ready`, retrying on another port if one was taken
 * between choosing and binding it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './apps';

export interface ReadyServer {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** Spawns `bin` with `args(port)` and resolves once `/-/ready` answers 2xx. */
export async function startReadyServer(
  what: string,
  bin: string,
  args: (port: number) => string[],
): Promise<ReadyServer> {
  let log = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc: ChildProcess = spawn(bin, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((r) => proc.once('exit', r));
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) {
          return {
            base: `http://127.0.0.1:${port}`,
            stop: async () => {
              if (proc.exitCode === null) {
                proc.kill('SIGTERM');
                await exited;
              }
            },
          };
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (proc.exitCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  }
  throw new Error(`${what} did not start:\n${log}`);
}
