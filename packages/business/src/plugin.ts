import type { BizmonPlugin } from '@bizmon/core';

/** What @bizmon/business contributes to start() (see @bizmon/node). */
export const plugin: BizmonPlugin = { name: 'business' };
