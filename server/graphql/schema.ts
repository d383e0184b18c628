import { builder } from './builder.js';
import './types/health.js';

/** The executable schema (every types/ file registers itself on import). */
export const schema = builder.toSchema({ sortSchema: true });
