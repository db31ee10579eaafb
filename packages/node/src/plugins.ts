import { runtimeMetricsPlugin, type BizmonPlugin } from '@bizmon/core';
import { plugin as http } from '@bizmon/http/plugin';
import { plugin as pg } from '@bizmon/db/plugin';
import { plugin as ioredis } from '@bizmon/cache';
import { plugin as business } from '@bizmon/business/plugin';

/**
 * Every package's contribution, in registration order. @bizmon/http and @bizmon/business are
 * loaded through their `/plugin` entries: their main entries arm the request context, which is
 * the app's doing (importing them to call setRequestUser or a helper), not the preload's;
 * @bizmon/db's, because its main entry loads the SQL parser, needed only once the app loads pg.
 * The runtime metrics (process and Node.js families) come from core and start first, so the GC
 * observer sees the app's start-up.
 */
export const plugins: readonly BizmonPlugin[] = [runtimeMetricsPlugin, http, pg, ioredis, business];
