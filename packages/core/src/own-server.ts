import type { IncomingMessage } from 'node:http';
import { state } from './state';

/** Whether `req` arrived at a server bizmon itself runs (the exporter), which is never counted. */
export function isOwnServerRequest(req: IncomingMessage): boolean {
  const server = (req.socket as { server?: object } | undefined)?.server;
  return server !== undefined && state.ownServers.has(server);
}
