import type { BizmonConfig } from '@bizmon/core';
import { runtimeMetricsPlugin, type BizmonPlugin } from '@bizmon/core/internal';
import { plugin as http } from '@bizmon/http/plugin';
import { plugin as pg } from '@bizmon/db/plugin';
import { plugin as ioredis } from '@bizmon/cache';
import { plugin as business } from '@bizmon/business/plugin';
import { signals } from './signals';

/**
 * Every package's contribution, in registration order, each given its typed configuration built
 * here, once, from core's resolved one. @bizmon/http and @bizmon/business are loaded through
 * their `/plugin` entries: their main entries arm the request context, which is the app's doing
 * (importing them to call setRequestUser or a helper), not the preload's; @bizmon/db's, because
 * its main entry loads the SQL parser, needed only once the app loads pg. The runtime metrics
 * (process and Node.js families) come from core and start first, so the GC observer sees the
 * app's start-up. The signals between http and business are wired last (signals.ts).
 */
export function plugins(config: BizmonConfig): BizmonPlugin[] {
  return [
    runtimeMetricsPlugin,
    http({ ignorePaths: config.httpIgnorePaths }),
    pg({ slowQueryThresholdMs: config.slowQueryThresholdMs }),
    ioredis({}),
    business({
      timezone: config.timezone,
      redisUrl: config.redisUrl,
      redisPrefix: config.redisPrefix,
    }),
    signals(),
  ];
}
