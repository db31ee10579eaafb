import { onLoginFailure, type BizmonConfig, type BizmonPlugin } from '@bizmon/core';
import { BizmonHttpInstrumentation } from './frameworks';
import { recordLoginFailure, setIgnorePaths } from './recorder';

let unsubscribeLogins: (() => void) | undefined;

/**
 * What @bizmon/http contributes to start() (see @bizmon/node): the request channel subscription
 * and the framework hooks, BIZMON_HTTP_IGNORE, and credential-stuffing detection fed by the login
 * failures the app reports (`security.loginFailure` of @bizmon/business, through core's signal).
 */
export const plugin: BizmonPlugin = {
  name: 'http',
  instrumentations(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
    return [new BizmonHttpInstrumentation()];
  },
  start(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
    unsubscribeLogins ??= onLoginFailure(recordLoginFailure);
  },
  shutdown() {
    unsubscribeLogins?.();
    unsubscribeLogins = undefined;
  },
};
