import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FrameworkRequest } from './request-state';

/**
 * Client addressing: the client's address of a request (honouring a framework's trust-proxy
 * setting) and the abuse detector's per-connection key of an anonymous client.
 */

/** Whether a proxy forwarded the request (then the client is not the socket's peer). */
function isForwarded(req: IncomingMessage): boolean {
  return req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
}

/** The client's address: the framework's (honours its trust-proxy setting), else the socket's. */
export function clientIp(req: IncomingMessage, fw?: FrameworkRequest): string {
  // Without a forwarding header every framework answers the socket's address, so skip their
  // (allocating) trust-proxy getters.
  if (!isForwarded(req)) return req.socket?.remoteAddress ?? 'unknown';
  const fromFramework = fw?.ip ?? (req as { ip?: unknown }).ip;
  if (typeof fromFramework === 'string' && fromFramework.length > 0) return fromFramework;
  return req.socket?.remoteAddress ?? 'unknown';
}

/** Where a connection keeps its `ip:<address>` key, built once for all its requests. */
const ADDRESS_KEY = Symbol('bizmon.http.addressKey');
type KeyedSocket = Socket & { [ADDRESS_KEY]?: string };

/**
 * The abuse detector's key of an anonymous client, `ip:<address>`. Without a forwarding header
 * it is the connection's: built once per socket, so a keep-alive client's requests reuse one
 * string (no concatenation, and its hash is computed once for the detector's map).
 */
export function addressKey(req: IncomingMessage, fw: FrameworkRequest | undefined): string {
  const socket = req.socket as KeyedSocket | null;
  if (socket !== null && !isForwarded(req))
    return (socket[ADDRESS_KEY] ??= `ip:${socket.remoteAddress ?? 'unknown'}`);
  return `ip:${clientIp(req, fw)}`;
}
