import { error } from '@sveltejs/kit';
import { gql } from '$lib/api/client.js';
import { FEEDS, KEY_QUERY } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, params, depends }) => {
  depends('app:keys');
  await authenticate(url);
  const [{ key }, { feeds }] = await Promise.all([gql(KEY_QUERY, { key: params.key }), gql(FEEDS)]);
  if (!key) error(404, `Key ${params.key} not found`);
  return { key, feeds };
};
