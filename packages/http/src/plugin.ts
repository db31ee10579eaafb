import type { BizmonPlugin } from '@bizmon/core';
import { BizmonHttpInstrumentation } from './frameworks';
import type { BizmonHttpInstrumentationConfig } from './types';

/**
 * What @bizmon/http contributes to start() (see @bizmon/node), built from the configuration the
 * preload resolved once: the request channel subscription and the framework hooks (with
 * `config.ignorePaths`).
 */
export function plugin(config: BizmonHttpInstrumentationConfig): BizmonPlugin {
  return {
    name: 'http',
    instrumentations() {
      return [new BizmonHttpInstrumentation(config)];
    },
  };
}

/** The ends of http's signals, for the preload's wiring (packages/node/src/signals.ts). */
export { onAuthenticatedRequest, recordLoginFailure } from './recorder';

export type { BizmonHttpInstrumentationConfig } from './types';
