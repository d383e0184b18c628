import { authenticate } from '$lib/guards.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => ({ user: await authenticate(url) });
