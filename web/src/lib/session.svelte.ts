// Who is signed in. Loaded once (the `me` query) and kept until sign-in,
// sign-out or an UNAUTHENTICATED answer changes it.
import { gql } from './api/client.js';
import { ME } from './api/operations.js';
import type { User } from './api/types.js';

export const session = $state<{ user: User | null; loaded: boolean }>({ user: null, loaded: false });

let pending: Promise<User | null> | null = null;

/** The signed-in user (asks the server the first time; concurrent callers share the one request). */
export async function loadSession(fetcher?: typeof fetch): Promise<User | null> {
  if (session.loaded) return session.user;
  pending ??= gql(ME, undefined, fetcher)
    .then(({ me }) => {
      session.user = me;
      session.loaded = true;
      return me;
    })
    .finally(() => (pending = null));
  return pending;
}

/** Records a sign-in or sign-out. */
export function setSessionUser(user: User | null): void {
  session.user = user;
  session.loaded = true;
}

/** Whether the signed-in user may change things (read-only users may not). */
export function canEdit(): boolean {
  return session.user !== null && !session.user.readOnly;
}
