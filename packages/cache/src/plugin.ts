import type { BizmonPlugin } from '@bizmon/core';

/** What @bizmon/cache contributes to start() (see @bizmon/node). */
export const plugin: BizmonPlugin = { name: 'ioredis' };
