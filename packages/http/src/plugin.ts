import { onLoginFailure, type BizmonConfig, type BizmonPlugin } from '@bizmon/core';
import type * as Frameworks from './frameworks';
import {
  recordLoginFailure,
  setIgnorePaths,
  subscribeRequests,
  unsubscribeRequests,
} from './recorder';

let unsubscribeLogins: (() => void) | undefined;

/**
 * What @bizmon/http contributes to start() (see @bizmon/node): the request channel subscription
 * and the framework hooks, BIZMON_HTTP_IGNORE, and credential-stuffing detection fed by the login
 * failures the app reports (`security.loginFailure` of @bizmon/business, through core's signal).
 */
export const plugin: BizmonPlugin = {
  name: 'http',
  modules: ['express', 'router', 'koa', 'fastify', '@nestjs/core'],
  instrumentations(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
    // Required here, when the app first loads a framework: frameworks.ts loads OpenTelemetry's
    // instrumentation framework, which plain node:http apps never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { BizmonHttpInstrumentation } = require('./frameworks') as typeof Frameworks;
    return [new BizmonHttpInstrumentation()];
  },
  start(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
    // node:http's request channel, from the start: the framework instrumentation comes later,
    // if ever (its enable() subscribes too, idempotently).
    subscribeRequests();
    unsubscribeLogins ??= onLoginFailure(recordLoginFailure);
  },
  shutdown() {
    unsubscribeRequests();
    unsubscribeLogins?.();
    unsubscribeLogins = undefined;
  },
};
