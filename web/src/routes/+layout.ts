import { loadSession } from '$lib/session.svelte.js';
import type { LayoutLoad } from './$types';

// A single-page app: nothing is rendered on a server or at build time.
export const ssr = false;
export const prerender = false;

// Who is signed in, for the header (also on error pages); pages guard themselves.
export const load: LayoutLoad = async () => {
  await loadSession().catch(() => null);
  return {};
};
