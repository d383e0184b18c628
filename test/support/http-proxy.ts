/**
 * An HTTP proxy for tests on 127.0.0.1: CONNECT tunnels and plain forward
 * requests, with a Proxy-Authorization (Basic) check and a log of every
 * request. It only connects to 127.0.0.1/localhost, so a test cannot reach
 * the network through it. `upstreamPorts` holds the local port of every
 * connection it opened to a target, so a test can prove a server saw only
 * connections that came through the proxy.
 */
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

/** A request the proxy received. */
export interface ProxyLogEntry {
  method: string;
  target: string;
  authorized: boolean;
  status: number;
}

/** The running proxy. */
export interface TestProxy {
  /** proxy URL with credentials, as PROXY takes it */
  url: string;
  /** without credentials */
  bareUrl: string;
  log: ProxyLogEntry[];
  upstreamPorts: Set<number>;
  close(): Promise<void>;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Starts the proxy on an ephemeral port. */
export async function startProxy(opts: { user?: string; password?: string } = {}): Promise<TestProxy> {
  const user = opts.user ?? 'proxy-user';
  const password = opts.password ?? 'proxy-pass';
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const log: ProxyLogEntry[] = [];
  const upstreamPorts = new Set<number>();
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };

  const server = http.createServer((req, res) => {
    const entry: ProxyLogEntry = { method: req.method ?? '', target: req.url ?? '', authorized: req.headers['proxy-authorization'] === expected, status: 0 };
    log.push(entry);
    const reply = (status: number, headers: http.OutgoingHttpHeaders = {}) => ((entry.status = status), res.writeHead(status, headers).end());
    if (!entry.authorized) return reply(407, { 'proxy-authenticate': 'Basic realm="proxy"' });
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return reply(400);
    }
    if (target.protocol !== 'http:' || !LOCAL.has(target.hostname)) return reply(403);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const out = http.request({ host: target.hostname, port: target.port || 80, path: target.pathname + target.search, method: req.method, headers, agent: false }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('socket', (s) => s.on('connect', () => upstreamPorts.add(s.localPort ?? 0)));
    out.on('error', () => (res.headersSent ? res.destroy() : reply(502)));
    req.pipe(out);
  });

  server.on('connect', (req, client: Socket, head: Buffer) => {
    track(client);
    const entry: ProxyLogEntry = { method: 'CONNECT', target: req.url ?? '', authorized: req.headers['proxy-authorization'] === expected, status: 0 };
    log.push(entry);
    const refuse = (status: number, text: string, extra = '') => {
      entry.status = status;
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    if (!entry.authorized) return refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="proxy"\r\n');
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.url ?? '');
    if (!m || !LOCAL.has(m[1]!)) return refuse(403, 'Forbidden');
    const upstream = net.connect(Number(m[2]), m[1]!.replace(/^\[|\]$/g, ''), () => {
      upstreamPorts.add(upstream.localPort ?? 0);
      entry.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => (entry.status ? client.destroy() : refuse(502, 'Bad Gateway')));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.on('connection', track);

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    bareUrl: `http://127.0.0.1:${port}`,
    log,
    upstreamPorts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
