/**
 * The upstream request of an upgrade (exec, attach, port-forward), on node:http over a connection
 * of its own from the route's connector: the tunnel takes the socket over after a 101, and a
 * refused upgrade's connection is closed with its answer, never handed to another request.
 */
import { request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { UpstreamTarget } from './target.js';

/** Opens (does not send) the upstream request of an upgrade. */
export function upgradeRequest(method: string | undefined, target: UpstreamTarget): ClientRequest {
  const { route } = target;
  return request({
    // No agent: the connection is this request's alone.
    createConnection: (_options, created) => {
      route.connector.open(['http/1.1']).then(
        (c) => created(null, c.socket as Socket),
        (err: Error) => created(err, undefined as unknown as Socket),
      );
      return undefined;
    },
    method,
    path: route.basePath + target.path,
    headers: target.headers as unknown as Record<string, string>,
    setHost: false,
  });
}
