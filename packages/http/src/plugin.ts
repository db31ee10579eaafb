import { onLoginFailure, type BizmonPlugin } from '@bizmon/core';
import { BizmonHttpInstrumentation } from './frameworks';
import { recordLoginFailure } from './recorder';
import type { BizmonHttpInstrumentationConfig } from './types';

/**
 * What @bizmon/http contributes to start() (see @bizmon/node), built from the configuration the
 * preload resolved once: the request channel subscription and the framework hooks (with
 * `config.ignorePaths`), and credential-stuffing detection fed by the login failures the app
 * reports (`security.loginFailure` of @bizmon/business, through core's signal).
 */
export function plugin(config: BizmonHttpInstrumentationConfig): BizmonPlugin {
  let unsubscribeLogins: (() => void) | undefined;
  return {
    name: 'http',
    instrumentations() {
      return [new BizmonHttpInstrumentation(config)];
    },
    start() {
      unsubscribeLogins ??= onLoginFailure(recordLoginFailure);
    },
    shutdown() {
      unsubscribeLogins?.();
      unsubscribeLogins = undefined;
    },
  };
}

export type { BizmonHttpInstrumentationConfig } from './types';
