import { gql } from '$lib/api/client.js';
import { STATS_QUERY } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
  await authenticate(url);
  const { stats } = await gql(STATS_QUERY);
  return { stats };
};
