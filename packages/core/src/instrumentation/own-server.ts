import type { IncomingMessage } from 'node:http';
import { state } from '../base/state';

/** Whether `req` arrived at a server bizmon itself runs (the exporter), which is never counted. */
export function isOwnServerRequest(req: IncomingMessage): boolean {
  const server = (req.socket as { server?: object } | undefined)?.server;
  return server !== undefined && state.ownServers.has(server);
}

/**
 * The `connectionName` of bizmon's own Redis connections (@bizmon/business's activity store),
 * by which @bizmon/cache tells them from the app's cache and leaves them uncounted.
 */
export const OWN_REDIS_CONNECTION_NAME = 'bizmon';

/** Whether an ioredis client is one of bizmon's own connections. */
export function isOwnRedisClient(client: { options?: { connectionName?: unknown } }): boolean {
  return client.options?.connectionName === OWN_REDIS_CONNECTION_NAME;
}
