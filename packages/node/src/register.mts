/**
 * `node --import @bizmon/node/register app.mjs`: registers OpenTelemetry's ESM loader hook so
 * that `import`ed modules (node:http, pg, ioredis) are patched too, then starts bizmon.
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { start, shutdown } = await import('./start.js');
void start();
process.once('beforeExit', () => void shutdown());
