import { redirect } from '@sveltejs/kit';
import { base } from '$app/paths';
import { gql } from '$lib/api/client.js';
import { FEEDS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
  const user = await authenticate(url);
  if (user.readOnly) redirect(307, `${base}/keys`);
  const { feeds } = await gql(FEEDS);
  return { feeds };
};
