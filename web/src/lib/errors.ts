// The console's one error handler: every failure (a rejected mutation, a
// failed load, a dropped subscription, an unhandled rejection) ends here and
// becomes a toast; UNAUTHENTICATED sends the browser to the sign-in page.
import { goto } from '$app/navigation';
import { base } from '$app/paths';
import { ApiError } from './api/client.js';
import { setSessionUser } from './session.svelte.js';
import { showToast } from './toast.svelte.js';

// Codes whose server message is not the best thing to show.
const MESSAGES: Record<string, string | ((e: ApiError) => string)> = {
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  INVALID_CREDENTIALS: 'Wrong username or password.',
  RATE_LIMITED: (e) => {
    const s = e.extensions.retryAfterSeconds;
    return `Too many sign-in attempts. Try again${typeof s === 'number' ? ` in ${Math.ceil(s)} s` : ' later'}.`;
  },
  LDAP_UNAVAILABLE: 'The LDAP directory cannot be reached. Try again later, or sign in with a local account.',
  READ_ONLY: 'Your account is read-only: you can look at everything but change nothing.',
  FORBIDDEN: 'You are not allowed to do that.',
  CSRF: 'The request was refused as cross-site. Reload the page and try again.',
  NETWORK: 'The portal cannot be reached. Check your connection and try again.',
  QUERY_TOO_COMPLEX: 'That request is too large. Narrow it down and try again.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on the portal. The details are in its log.',
  LAST_ADMIN: 'At least one user who can make changes must remain.',
  FEED_IS_DEFAULT: 'The default feed cannot be deleted.',
  PATCHSET_BLOCKED: (e) => `Blocked upstream, so it cannot be deployed. ${e.message}`,
  SETTING_FROM_ENVIRONMENT: (e) => `Set by the portal's environment; change it there. ${e.message}`,
  INVALID_INPUT: (e) => `Please check the form: ${e.message}`,
  SYNC_UNAVAILABLE: 'This portal process does not run the sync job, so a sync cannot be started from here.',
};

/** A readable sentence for any error. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const m = MESSAGES[err.code];
    if (typeof m === 'function') return m(err);
    if (m) return m;
    // domain codes (KEY_EXISTS, FEED_NOT_FOUND, ...) carry a message written for people
    return capitalise(err.message);
  }
  if (err instanceof Error && err.message) return capitalise(err.message);
  return 'Something went wrong.';
}

function capitalise(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** The code of an error (ApiError), or undefined. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof ApiError ? err.code : undefined;
}

/**
 * Handles any failure: a toast, and for an ended session the sign-in page
 * (coming back to `target`, the page being opened, or else the current one).
 */
export function handleError(err: unknown, target?: URL): void {
  if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
    setSessionUser(null);
    const back = target ?? new URL(location.href);
    if (!location.pathname.startsWith(`${base}/login`)) {
      showToast('error', errorMessage(err));
      void goto(`${base}/login?next=${encodeURIComponent(back.pathname + back.search)}`, { replaceState: true });
    }
    return;
  }
  console.error(err);
  showToast('error', errorMessage(err));
}
