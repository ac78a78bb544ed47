/**
 * The one catalogue of error reasons. Stages and handlers throw `GatewayError`; only
 * `http/render-error.ts` turns one into a response (a Kubernetes `Status` on `/k8s/...`,
 * the management API's JSON shape elsewhere; docs/reference/api.md).
 */

/** Reasons, named as Kubernetes names them in `Status.reason`, with their HTTP code. */
export const Reasons = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431,
  InternalError: 500,
  /** The cluster refused kubegate's own credential (issue 15): not the user's fault. */
  BadGateway: 502,
  ServiceUnavailable: 503,
} as const;

export type Reason = keyof typeof Reasons;

/** An error meant for the client: its message is safe to show. */
export class GatewayError extends Error {
  readonly reason: Reason;
  readonly code: number;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string> | undefined;

  constructor(reason: Reason, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.reason = reason;
    this.code = Reasons[reason];
    this.headers = options?.headers;
  }
}

export const badRequest = (message: string): GatewayError => new GatewayError('BadRequest', message);
export const unauthorized = (message = 'Unauthorized'): GatewayError => new GatewayError('Unauthorized', message);
export const forbidden = (message: string): GatewayError => new GatewayError('Forbidden', message);
export const notFound = (message: string): GatewayError => new GatewayError('NotFound', message);
export const conflict = (message: string): GatewayError => new GatewayError('Conflict', message);
export const unavailable = (message: string, cause?: unknown): GatewayError =>
  new GatewayError('ServiceUnavailable', message, { cause });

/** The store could not be reached or failed; never cached as a verdict, rendered as 503. */
export class StoreUnavailableError extends GatewayError {
  constructor(cause: unknown) {
    super('ServiceUnavailable', 'the gateway cannot reach its store; try again shortly', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A bad flag, environment variable or setting: the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Turns anything thrown into a `GatewayError`, hiding internals of unexpected errors. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('InternalError', 'internal error', { cause: err });
}
