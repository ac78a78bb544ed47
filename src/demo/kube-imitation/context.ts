/**
 * What every handler receives: the request as parsed and authenticated, plus the double's
 * shared state. One typed object instead of ad-hoc fields on `req`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestInfo } from './request-info.js';
import type { ObjectStore } from './store.js';
import type { StreamTracker } from './streams.js';
import type { KubeDoubleOptions, RecordedRequest, UserInfo } from './types.js';

/** Options with their defaults applied; read through a getter so `setOptions` takes effect at once. */
export type ResolvedOptions = Required<Omit<KubeDoubleOptions, 'webhookConfigFile' | 'authorize' | 'staticTokens' | 'gatewayToken' | 'rbacManifests'>> &
  Pick<KubeDoubleOptions, 'webhookConfigFile' | 'authorize' | 'staticTokens'> & { gatewayToken: string };

export interface DoubleState {
  store: ObjectStore;
  streams: StreamTracker;
  options: () => ResolvedOptions;
  /** `https://127.0.0.1:<port>`, for discovery's serverAddressByClientCIDRs. */
  url: () => string;
}

export interface RequestContext extends DoubleState {
  req: IncomingMessage;
  record: RecordedRequest;
  info: RequestInfo;
  /** The effective user (after impersonation). */
  user: UserInfo;
  /** The whole request body (empty for upgrades). */
  body: Buffer;
}

/** A plain HTTP request. */
export interface HttpContext extends RequestContext {
  res: ServerResponse;
}

/** An upgrade request: the raw socket and the bytes read past the request head. */
export interface UpgradeContext extends RequestContext {
  socket: Duplex;
  head: Buffer;
}
