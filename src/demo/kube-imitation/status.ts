/**
 * The one catalogue of API errors. Handlers throw `StatusError`; only `respond.ts` writes one.
 * Messages follow k8s.io/apimachinery/pkg/api/errors word for word, because clients (kubectl,
 * the gateway's tests) match on them.
 */

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason?: string; message?: string; field?: string }>;
}

/** `metav1.Status` as JSON, with kube-apiserver's field order. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A resource name qualified by its API group, as in `configmaps` or `userextras.authentication.k8s.io`. */
export interface GroupResource {
  group: string;
  resource: string;
}

const qualified = (gr: GroupResource): string => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

const detailsFor = (gr: GroupResource, name: string): StatusDetails => {
  const details: StatusDetails = {};
  if (name) details.name = name;
  if (gr.group) details.group = gr.group;
  if (gr.resource) details.kind = gr.resource;
  return details;
};

/** An error that renders as a Kubernetes Status. */
export class StatusError extends Error {
  readonly status: KubeStatus;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    // kube-apiserver's field order: message, reason, details, code.
    this.status = details
      ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code }
      : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  }
}

/**
 * An error kube-apiserver renders as plain text rather than a Status: `responsewriters.InternalError`
 * (used by the impersonation filter) writes `http.Error` output.
 */
export class PlainTextError extends Error {
  constructor(readonly code: number, readonly body: string) {
    super(body);
    this.name = 'PlainTextError';
  }
}

export const unauthorized = (): StatusError => new StatusError(401, 'Unauthorized', 'Unauthorized');

/** apierrors.NewForbidden: `<resource> "<name>" is forbidden: <why>`. */
export const forbidden = (gr: GroupResource, name: string, why: string): StatusError => {
  let message: string;
  if (!gr.resource && !gr.group) message = `forbidden: ${why}`;
  else if (!name) message = `${qualified(gr)} is forbidden: ${why}`;
  else message = `${qualified(gr)} "${name}" is forbidden: ${why}`;
  return new StatusError(403, 'Forbidden', message, detailsFor(gr, name));
};

export const notFound = (gr: GroupResource, name: string): StatusError =>
  new StatusError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, detailsFor(gr, name));

/** The answer for a path no handler serves (kube-apiserver's NotFound with empty details). */
export const pathNotFound = (): StatusError =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});

export const alreadyExists = (gr: GroupResource, name: string): StatusError =>
  new StatusError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, detailsFor(gr, name));

export const conflict = (gr: GroupResource, name: string, why: string): StatusError =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, detailsFor(gr, name));

export const badRequest = (message: string): StatusError => new StatusError(400, 'BadRequest', message);

export const invalid = (kind: string, name: string, causes: Array<{ field: string; message: string }>): StatusError =>
  new StatusError(
    422,
    'Invalid',
    `${kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    { name, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })) },
  );

export const methodNotAllowed = (): StatusError =>
  new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

export const notAcceptable = (): StatusError =>
  new StatusError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml');

export const unsupportedMediaType = (contentType: string): StatusError =>
  new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got "${contentType}")`);

export const expired = (message: string): StatusError => new StatusError(410, 'Expired', message);

export const internalError = (message: string): StatusError =>
  new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });

/** The answer to every upgrade while `refuseUpgrades` is set (a cluster that cannot upgrade). */
export const upgradeRefused = (): StatusError =>
  new StatusError(403, 'Forbidden', 'upgrade refused by the kube-apiserver test double (refuseUpgrades)');

export const requestEntityTooLarge = (): StatusError =>
  new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');

/** metav1.Status{Status: Success} as returned by deletes of objects without graceful deletion. */
export const successStatus = (details: StatusDetails): Record<string, unknown> => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Success',
  details,
});
