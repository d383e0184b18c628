// The executable schema: every types/ file registers itself on import.
import { builder } from './builder.js';
import './types/health.js';
import './types/user.js';
import './types/session.js';
import './types/api-token.js';
import './types/feed.js';
import './types/key.js';
import './types/server.js';
import './types/server-list.js';
import './types/cve.js';
import './types/patchset.js';
import './types/stats.js';
import './types/patch-source.js';
import './types/portal.js';

/** The executable schema. */
export const schema = builder.toSchema({ sortSchema: true });
