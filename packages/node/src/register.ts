/**
 * `node --require @bizmon/node/register app.js`: starts bizmon from the environment before the
 * app loads, and flushes pushed metrics when the event loop drains.
 */
import { start, shutdown } from './start';

void start();
process.once('beforeExit', () => void shutdown());
