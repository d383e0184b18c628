// Login throttling, in memory (one portal process serves the console; a
// restart forgets the counts, which only gives an attacker one more window).
// Failed attempts are counted per user name and per client IP over a sliding
// window; past the limit, attempts are refused before any password hashing,
// so guessing costs the portal almost nothing.

/** Limits of the login throttle. */
export interface LoginLimits {
  windowMs: number;
  /** failed attempts per user name (all IPs) per window */
  perUser: number;
  /** failed attempts per IP (all user names) per window */
  perIp: number;
  /** most distinct names/IPs tracked; the oldest are forgotten first */
  maxTracked: number;
}

/** 10 failures per user or 30 per IP in 15 minutes. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perUser: 10, perIp: 30, maxTracked: 50_000 };

class SlidingCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxTracked: number) {}

  /** ms until `key` may try again, or 0. */
  blockedFor(key: string, now: number): number {
    const list = this.prune(key, now);
    if (list.length < this.limit) return 0;
    return list[list.length - this.limit]! + this.windowMs - now;
  }

  add(key: string, now: number): void {
    const list = this.prune(key, now);
    list.push(now);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.hits.delete(key);
    this.hits.set(key, list);
    if (this.hits.size > this.maxTracked) this.hits.delete(this.hits.keys().next().value!);
  }

  clear(key: string): void {
    this.hits.delete(key);
  }

  private prune(key: string, now: number): number[] {
    const list = this.hits.get(key) ?? [];
    while (list.length && list[0]! <= now - this.windowMs) list.shift();
    return list;
  }
}

/** Counts failed logins per user name and per IP. */
export class LoginRateLimiter {
  private readonly users: SlidingCounter;
  private readonly ips: SlidingCounter;

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.users = new SlidingCounter(limits.perUser, limits.windowMs, limits.maxTracked);
    this.ips = new SlidingCounter(limits.perIp, limits.windowMs, limits.maxTracked);
  }

  /** ms until this user name from this IP may try again (0: go ahead). */
  retryAfter(username: string, ip: string, now: number): number {
    return Math.max(this.users.blockedFor(username.toLowerCase(), now), this.ips.blockedFor(ip, now));
  }

  /** Records a failed attempt. */
  failed(username: string, ip: string, now: number): void {
    this.users.add(username.toLowerCase(), now);
    this.ips.add(ip, now);
  }

  /** A successful login clears the user's failures (not the IP's). */
  succeeded(username: string): void {
    this.users.clear(username.toLowerCase());
  }
}
