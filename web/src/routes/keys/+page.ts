import { gql } from '$lib/api/client.js';
import { KEYS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:keys');
  await authenticate(url);
  const { keys } = await gql(KEYS);
  return { keys };
};
