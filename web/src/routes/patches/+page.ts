import { gql } from '$lib/api/client.js';
import { PATCH_SOURCE, PATCHSETS } from '$lib/api/operations.js';
import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url, depends }) => {
  depends('app:patchsets');
  await authenticate(url);
  const [{ patchsets, feeds }, { patchSource }] = await Promise.all([gql(PATCHSETS), gql(PATCH_SOURCE)]);
  const wanted = url.searchParams.get('feed');
  const feed = feeds.find((f) => f.name === wanted)?.name ?? feeds.find((f) => f.isDefault)?.name ?? feeds[0]?.name ?? '';
  return { patchsets, feeds, feed, source: patchSource };
};
