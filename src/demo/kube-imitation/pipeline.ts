/**
 * The request path, top to bottom, in kube-apiserver's filter order:
 * record → (read body) → authenticate → impersonate (RBAC) → authorize (mode, hook) → route.
 * Anything thrown becomes the answer kube-apiserver would give, written by respond.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { authenticateRequest } from './authn.js';
import { attributesFor, authorize } from './authz.js';
import type { DoubleState } from './context.js';
import { impersonate } from './impersonation.js';
import { recordRequest } from './record.js';
import { parseRequestInfo } from './request-info.js';
import { errorReply, send, sendOnSocket } from './respond.js';
import { routeHttp, routeUpgrade } from './routes.js';
import { requestEntityTooLarge } from './status.js';
import type { TokenAuthenticator } from './token-authn.js';
import { rbacDecision } from './rbac.js';
import type { AuthorizationAttributes, RecordedRequest, UserInfo } from './types.js';

// kube-apiserver's default maximum request body (3 MiB).
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface PipelineDeps extends DoubleState {
  requests: RecordedRequest[];
  /** Requests of kubegate's health probe. */
  probes: RecordedRequest[];
  tokens: TokenAuthenticator;
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(requestEntityTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** Authentication, impersonation and authorization, filling the record as each step succeeds. */
const identify = async (deps: PipelineDeps, req: IncomingMessage, record: RecordedRequest) => {
  const requester = await authenticateRequest(req, deps.tokens);
  record.authenticatedAs = requester;
  const rbac = (attributes: AuthorizationAttributes): boolean => rbacDecision(deps.store, attributes).allowed;
  const user: UserInfo = impersonate(req, requester, rbac);
  record.effective = user;
  const info = parseRequestInfo(req);
  const { authorizationMode, authorize: hook } = deps.options();
  authorize([...(authorizationMode === 'RBAC' ? [rbac] : []), ...(hook ? [hook] : [])], attributesFor(user, info));
  return { user, info };
};

/** kubegate's cluster health probe (src/clusters/probe.ts) says who it is in its User-Agent. */
export const HEALTH_PROBE_USER_AGENT = 'kubegate-health-probe';

/** The gateway's health probes are kept apart, so tests of what user traffic carried need not skip them. */
const recordsFor = (deps: PipelineDeps, req: IncomingMessage): RecordedRequest[] =>
  req.headers['user-agent'] === HEALTH_PROBE_USER_AGENT ? deps.probes : deps.requests;

export const handleRequest = async (deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const record = recordRequest(req, false);
  recordsFor(deps, req).push(record);
  try {
    const rawBody = await readBody(req);
    record.rawBody = rawBody;
    record.body = rawBody.toString('utf8');
    const { user, info } = await identify(deps, req, record);
    await routeHttp({ ...deps, req, res, record, info, user, body: rawBody });
  } catch (error) {
    send(res, record, errorReply(error));
  }
};

export const handleUpgrade = async (deps: PipelineDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
  const record = recordRequest(req, true);
  recordsFor(deps, req).push(record);
  socket.on('error', () => socket.destroy());
  try {
    const { user, info } = await identify(deps, req, record);
    routeUpgrade({ ...deps, req, socket, head, record, info, user, body: Buffer.alloc(0) });
  } catch (error) {
    sendOnSocket(socket, record, errorReply(error));
  }
};
