/**
 * TokenReview in and out (docs/reference/webhook.md): reads a review kube-apiserver POSTs and writes the answer in
 * the same `authentication.k8s.io` version, because client-go decodes the answer into the type it
 * asked with (an anchor that answered only v1beta1 broke clusters set to v1).
 */
import type { AuthResult } from '../auth/identity.js';
import { kubeUserOf, type KubeUser } from '../auth/kube-user.js';
import type { TokenFailure } from '../auth/token-decision.js';

export const TOKEN_REVIEW_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const;
export type TokenReviewVersion = (typeof TOKEN_REVIEW_VERSIONS)[number];
/** What an empty `apiVersion` means, as kube-apiserver's oldest webhook clients sent it. */
export const DEFAULT_REVIEW_VERSION: TokenReviewVersion = 'authentication.k8s.io/v1beta1';

/** A review that cannot be read; the server answers 400 with this message. */
export class MalformedReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedReviewError';
  }
}

export interface TokenReviewRequest {
  apiVersion: TokenReviewVersion;
  token: string;
}

/** A review's `status`: the user a cluster sees (the same the gateway impersonates), or why not. */
export type ReviewResult = { authenticated: true; user: KubeUser } | { authenticated: false; error: string };

/** What `status.error` says for each refusal. */
const REVIEW_ERRORS: Record<TokenFailure, string> = {
  malformed: 'not a kubegate token',
  unknown: 'invalid token',
  'no-owner': 'invalid token',
  'agent-token': 'invalid token',
  'wrong-cluster': 'invalid token',
  expired: 'token has expired',
  'user-disabled': 'user is disabled',
  'not-member': 'user is not a member of this cluster',
};

/** Maps a token's verdict to a review status. */
export function reviewResult(result: AuthResult, clusterId: string): ReviewResult {
  if (!result.authenticated) return { authenticated: false, error: REVIEW_ERRORS[result.reason] };
  // Only user tokens of this cluster pass `decide()` with a cluster: an agent never reaches here.
  if (result.identity.kind !== 'user') return { authenticated: false, error: REVIEW_ERRORS['agent-token'] };
  return { authenticated: true, user: kubeUserOf(result.identity, clusterId) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a request body; throws `MalformedReviewError` for anything but a TokenReview with a token. */
export function parseTokenReview(body: string): TokenReviewRequest {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch {
    throw new MalformedReviewError('body is not JSON');
  }
  if (!isObject(review)) throw new MalformedReviewError('body is not a TokenReview object');
  const { apiVersion, kind, spec } = review;
  if (kind !== undefined && kind !== '' && kind !== 'TokenReview') throw new MalformedReviewError(`kind must be TokenReview, not ${JSON.stringify(kind)}`);
  let version: TokenReviewVersion = DEFAULT_REVIEW_VERSION;
  if (apiVersion !== undefined && apiVersion !== '') {
    if (!TOKEN_REVIEW_VERSIONS.includes(apiVersion as TokenReviewVersion)) {
      throw new MalformedReviewError(`apiVersion must be one of ${TOKEN_REVIEW_VERSIONS.join(', ')}`);
    }
    version = apiVersion as TokenReviewVersion;
  }
  if (!isObject(spec) || typeof spec.token !== 'string') throw new MalformedReviewError('spec.token must be a string');
  return { apiVersion: version, token: spec.token };
}

// Everything of an answer before its status, per version: the same on every answer, so only the
// status is serialised per review (a quarter of the answer's cost, issue 8).
const ANSWER_HEAD = Object.fromEntries(
  TOKEN_REVIEW_VERSIONS.map((apiVersion) => [apiVersion, `${JSON.stringify({ apiVersion, kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: {} }).slice(0, -1)},"status":`]),
) as Record<TokenReviewVersion, string>;

/** The answer to a review, in the request's version. Never echoes the token. */
export function tokenReviewResponse(apiVersion: TokenReviewVersion, result: ReviewResult): string {
  const status = result.authenticated ? { authenticated: true, user: result.user } : { authenticated: false, error: result.error };
  return `${ANSWER_HEAD[apiVersion]}${JSON.stringify(status)}}`;
}
