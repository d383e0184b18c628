import { error } from '@sveltejs/kit';
import { gql } from '$lib/api/client.js';
import { FEED_QUERY } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, params }) => {
  await authenticate(url);
  const { feed } = await gql(FEED_QUERY, { name: params.name });
  if (!feed) error(404, `Feed ${params.name} not found`);
  return { feed };
};
