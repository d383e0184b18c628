// The raw baseline of the patch benchmark: a bare node:http server serving
// the very files of the portal's patch store with fs.stat +
// fs.createReadStream (no auth, no ETag/Range, no feed resolution), and
// answering `<khash>/latest.v2` from a Map built at start. What a static
// file server on this stack costs at least; the portal's figures are read
// against it.
//
//   tsx test/bench/patches-static.ts --map FILE --port N [--host 127.0.0.1]
//
// FILE: JSON { files: { "<url path>": "<absolute file>" }, levels: { "<khash>": level } }
import { createReadStream, readFileSync, stat } from 'node:fs';
import http from 'node:http';
import { numArg, parseArgs, strArg } from './lib.js';

const args = parseArgs(process.argv.slice(2));
const mapFile = strArg(args, 'map');
const port = numArg(args, 'port', 0, 1);
const host = strArg(args, 'host') ?? '127.0.0.1';
if (!mapFile || !port) throw new Error('usage: patches-static.ts --map FILE --port N');
const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { files: Record<string, string>; levels: Record<string, number> };
const files = new Map(Object.entries(map.files));
const levels = new Map(Object.entries(map.levels));

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  if (p === '/healthz') return text(res, 200, 'ok\n');
  if (p.endsWith('/latest.v2')) {
    const level = levels.get(p.slice(1, -'/latest.v2'.length));
    return level === undefined ? text(res, 404, 'Not Found\n') : text(res, 200, String(level));
  }
  const file = files.get(p);
  if (!file) return text(res, 404, 'Not Found\n');
  stat(file, (err, st) => {
    if (err) return text(res, 404, 'Not Found\n');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
});

server.listen(port, host);
const shutdown = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
