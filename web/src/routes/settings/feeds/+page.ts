import { gql } from '$lib/api/client.js';
import { FEEDS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:feeds');
  await authenticate(url);
  const { feeds } = await gql(FEEDS);
  return { feeds };
};
