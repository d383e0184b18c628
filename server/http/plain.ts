import type { ServerResponse } from 'node:http';

/** Answers in the agent's `key: value` line format (always HTTP 200 unless told otherwise). */
export function sendPlain(res: ServerResponse, fields: Record<string, string | number | boolean>, status = 200): void {
  let body = '';
  for (const [k, v] of Object.entries(fields)) body += `${k}: ${String(v).replace(/[\r\n]+/g, ' ')}\n`;
  sendText(res, status, body);
}

/** A short text/plain answer with an exact Content-Length. */
export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': buf.length, 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}
