/**
 * TokenReview in and out (SPEC §8): reads a review kube-apiserver POSTs and writes the answer in
 * the same `authentication.k8s.io` version, because client-go decodes the answer into the type it
 * asked with (an anchor that answered only v1beta1 broke clusters set to v1).
 */
import { AUTHENTICATED_GROUP, TOKEN_ID_EXTRA } from '../auth/identity.js';

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

/** The user of SPEC §5, as `status.user` carries it. */
export interface ReviewUser {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export type ReviewResult = { authenticated: true; user: ReviewUser } | { authenticated: false; error: string };

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

/**
 * The identity both doors give (SPEC §5): the user's groups then `kubegate:authenticated` last,
 * as the gateway sends its `Impersonate-Group` lines, and the token id as an extra.
 */
export function reviewUser(user: { id: string; username: string; groups: readonly string[] }, tokenId: string): ReviewUser {
  const groups = user.groups.filter((g) => g !== AUTHENTICATED_GROUP);
  groups.push(AUTHENTICATED_GROUP);
  return { username: user.username, uid: user.id, groups, extra: { [TOKEN_ID_EXTRA]: [tokenId] } };
}
