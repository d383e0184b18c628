import type { IncomingMessage } from 'node:http';

function normalise(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The client's address: the socket's, or, only when the socket peer is a
 * trusted proxy, the right-most X-Forwarded-For hop that is not itself trusted.
 */
export function clientIp(req: IncomingMessage, trusted: readonly string[]): string {
  const peer = normalise(req.socket.remoteAddress ?? '');
  if (trusted.length === 0) return peer;
  const proxies = new Set(trusted.map(normalise));
  if (!proxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => normalise(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!proxies.has(hop)) return /^[0-9a-fA-F:.]{2,45}$/.test(hop) ? hop : peer;
  }
  return hops[0] ?? peer;
}
