// Route guards, called from each page's load (+page.ts): no session → the
// sign-in page, with the way back in ?next=.
import { redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import type { User } from './api/types.js';
import { loadSession } from './session.svelte.js';

/** The signed-in user, or a redirect to the sign-in page. */
export async function authenticate(url: URL): Promise<User> {
  const user = await loadSession();
  if (!user) redirect(307, `${base}/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  return user;
}

/** Where to go after signing in: only a path inside the console (no open redirect). */
export function safeNext(next: string | null): string {
  if (next && next.startsWith(`${base}/`) && !next.startsWith('//') && !next.includes('\\') && !next.startsWith(`${base}/login`)) return next;
  return `${base}/`;
}
