import type { BizmonPlugin } from '@bizmon/core/internal';
import type * as Frameworks from './frameworks';
import { configureRecorder, subscribeRequests, unsubscribeRequests } from './recorder';
import type { BizmonHttpInstrumentationConfig } from './types';

/**
 * What @bizmon/http contributes to start() (see @bizmon/node), built from the configuration the
 * preload resolved once: the request channel subscription and the framework hooks (with
 * `config.ignorePaths`).
 */
export function plugin(config: BizmonHttpInstrumentationConfig): BizmonPlugin {
  return {
    name: 'http',
    modules: ['express', 'router', 'koa', 'fastify', '@nestjs/core'],
    instrumentations() {
      // Required here, when the app first loads a framework: frameworks.ts loads OpenTelemetry's
      // instrumentation framework, which plain node:http apps never need.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { BizmonHttpInstrumentation } = require('./frameworks') as typeof Frameworks;
      return [new BizmonHttpInstrumentation(config)];
    },
    start() {
      // node:http's request channel from the start, configured as the instrumentation would
      // (BizmonHttpInstrumentation.setConfig): that instrumentation comes later, if ever, and
      // its enable() subscribes too, idempotently.
      configureRecorder(config);
      subscribeRequests();
    },
    shutdown() {
      unsubscribeRequests();
    },
  };
}

/** The ends of http's signals, for the preload's wiring (packages/node/src/signals.ts). */
export { onAuthenticatedRequest, recordLoginFailure } from './recorder';

export type { BizmonHttpInstrumentationConfig } from './types';
