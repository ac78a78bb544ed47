/**
 * Where identities come from. Local users with passwords are one provider (`local-users.ts`);
 * single sign-on is another. Whichever answers, a login ends in the same place: a user record in
 * the store, holding the groups the provider gave, and a token the gateway issues for it. So the
 * token decision, the verdict cache, revocation and the webhook's copy work the same for every
 * provider, and the routes (`/v1/login`, the web UI's login) never know which one answered.
 */
import type { User } from '../store/store.js';

export interface IdentityProvider {
  /** `local`, or `oidc:<issuer>`: the source recorded for users this provider answers for. */
  readonly source: string;
  /**
   * Checks a username and password: the user, or undefined for every kind of failure (unknown
   * user, wrong password, disabled account), in the same time. Providers without passwords
   * (redirect-based single sign-on) leave it out.
   */
  checkPassword?(username: string, password: string): Promise<User | undefined>;
}
