import { gql } from '$lib/api/client.js';
import { USERS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:users');
  await authenticate(url);
  const { users } = await gql(USERS);
  return { users };
};
