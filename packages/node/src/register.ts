/**
 * `node --require @bizmon/node/register app.js`: starts bizmon from the environment before the
 * app loads, and flushes pushed metrics when the event loop drains.
 */
import { startPreloaded, shutdown } from './start';

// For register.mts, which loads this file: the packages its ESM loader hook must see.
export { instrumentedModules } from './start';
export { packageFilePattern } from './first-require';

void startPreloaded();
process.once('beforeExit', () => void shutdown());
