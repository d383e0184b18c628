import { gql } from '$lib/api/client.js';
import { API_TOKENS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:tokens');
  await authenticate(url);
  const { apiTokens } = await gql(API_TOKENS);
  return { tokens: apiTokens };
};
