import { gql } from '$lib/api/client.js';
import { PATCH_SOURCE } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:patch-source');
  await authenticate(url);
  const { patchSource } = await gql(PATCH_SOURCE);
  return { source: patchSource };
};
