import type { BizmonConfig, BizmonPlugin } from '@bizmon/core';
import { BizmonHttpInstrumentation } from './frameworks';
import { setIgnorePaths } from './recorder';

/**
 * What @bizmon/http contributes to start() (see @bizmon/node): the request channel subscription
 * and the framework hooks, and BIZMON_HTTP_IGNORE.
 */
export const plugin: BizmonPlugin = {
  name: 'http',
  instrumentations(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
    return [new BizmonHttpInstrumentation()];
  },
  start(config: BizmonConfig) {
    setIgnorePaths(config.httpIgnorePaths);
  },
};
