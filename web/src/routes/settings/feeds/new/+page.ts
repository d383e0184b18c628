import { redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
  const user = await authenticate(url);
  if (user.readOnly) redirect(307, `${base}/settings/feeds`);
  return {};
};
