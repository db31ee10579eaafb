#!/usr/bin/env node
import { stderrLogger } from '../redact';
import { loadBridgeConfig } from './config';
import { Bridge } from './server';

const USAGE = 'usage: bizmon-alert-bridge --config <file.yml>';

function configPath(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const file = configPath(argv);
  if (!file) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  let bridge: Bridge;
  try {
    bridge = new Bridge(loadBridgeConfig(file));
  } catch (err) {
    stderrLogger.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  await bridge.start();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stderrLogger.info(`${signal}: draining`);
    bridge.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Messages here can come from anywhere; the bridge's own logger already redacts what it logs,
  // and start-up errors (listen, disk) carry no secrets.
  stderrLogger.error(`fatal: ${(err as Error)?.message ?? String(err)}`);
  process.exit(1);
});
