import type { BizmonPlugin } from '@bizmon/core';

/** What @bizmon/http contributes to start() (see @bizmon/node). */
export const plugin: BizmonPlugin = { name: 'http' };
