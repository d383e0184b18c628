import { authenticate } from '$lib/guards.js';
import { loadServerPage } from '$lib/server-page.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:servers');
  await authenticate(url);
  return loadServerPage(url);
};
