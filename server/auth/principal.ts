// Who a request acts as, however it authenticated.

/** The signed-in user a request acts for. */
export interface AuthUser {
  id: number;
  username: string;
  readOnly: boolean;
}

/** How a request authenticated, and with what. */
export interface RequestAuth {
  user: AuthUser | null;
  /** 'session': the console's cookie; 'token': an API token header or WebSocket parameter */
  via: 'session' | 'token' | null;
  sessionId?: number;
  tokenId?: number;
}

/** A request with no credentials. */
export const ANONYMOUS: RequestAuth = Object.freeze({ user: null, via: null });

/** The fields of User that make an AuthUser. */
export const authUserSelect = { id: true, username: true, readOnly: true } as const;
