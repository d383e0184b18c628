import { redirect } from '@sveltejs/kit';
import { safeNext } from '$lib/guards.js';
import { loadSession } from '$lib/session.svelte.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
  const next = safeNext(url.searchParams.get('next'));
  if (await loadSession()) redirect(307, next);
  return { next };
};
