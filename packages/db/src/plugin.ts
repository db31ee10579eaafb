import type { BizmonPlugin } from '@bizmon/core';

/** What @bizmon/db contributes to start() (see @bizmon/node). */
export const plugin: BizmonPlugin = { name: 'pg' };
