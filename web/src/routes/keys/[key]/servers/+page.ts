import { error } from '@sveltejs/kit';
import { gql } from '$lib/api/client.js';
import { KEY_QUERY } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import { loadServerPage } from '$lib/server-page.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, params, depends }) => {
  depends('app:servers');
  await authenticate(url);
  const [{ key }, list] = await Promise.all([gql(KEY_QUERY, { key: params.key }), loadServerPage(url, params.key)]);
  if (!key) error(404, `Key ${params.key} not found`);
  return { key, ...list };
};
