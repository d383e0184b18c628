import type { PrismaClient } from '../generated/prisma/client.js';
import type { CheckinBuffer } from '../agent/checkin-buffer.js';

export interface AuthUser {
  id: number;
  username: string;
  readOnly: boolean;
}

/** Per-request GraphQL context. */
export interface GraphQLContext {
  prisma: PrismaClient;
  user: AuthUser | null;
  checkins: CheckinBuffer;
  startedAt: number;
}
