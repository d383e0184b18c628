// Runs the real nginx with the shipped deploy/nginx config, rewritten only
// where a test must differ (ports, log and temp paths), in the foreground.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './child-portal.js';

export interface TestNginx {
  httpPort: number;
  httpsPort: number;
  caCert: string;
  stop(): Promise<void>;
}

/** Starts nginx in front of `backendPort`, HTTP and (with a fresh self-signed cert) HTTPS. */
export async function startNginx(backendPort: number): Promise<TestNginx> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-nginx-'));
  for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'ssl']) mkdirSync(path.join(dir, d));
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const { execFileSync } = await import('node:child_process');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', path.join(dir, 'ssl/eportal.key'), '-out', path.join(dir, 'ssl/eportal.crt')], { stdio: 'ignore' });

  const site = readFileSync('deploy/nginx/eportal.conf', 'utf8')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${backendPort};`)
    .replace('listen 80 default_server;', `listen 127.0.0.1:${httpPort};`)
    .replace('listen [::]:80 default_server;', '')
    .replace('# include eportal.ssl.conf;', `include ${path.join(dir, 'eportal.ssl.conf')};`)
    .replace('/var/log/nginx/kcare-eportal.log', path.join(dir, 'access.log'));
  const ssl = readFileSync('deploy/nginx/eportal.ssl.conf.example', 'utf8')
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
    .replace('listen [::]:443 ssl http2;', '')
    .replaceAll('/etc/nginx/ssl/', `${path.join(dir, 'ssl')}/`);
  writeFileSync(path.join(dir, 'eportal.conf'), site);
  writeFileSync(path.join(dir, 'eportal.ssl.conf'), ssl);
  writeFileSync(path.join(dir, 'nginx.conf'), `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/eportal.conf;
}
`);
  const nginx: ChildProcess = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  nginx.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${err}${safeRead(path.join(dir, 'error.log'))}`);
    if (await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`nginx did not come up: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    httpPort,
    httpsPort,
    caCert: readFileSync(path.join(dir, 'ssl/eportal.crt'), 'utf8'),
    stop: () => new Promise((resolve) => {
      nginx.once('exit', () => resolve());
      nginx.kill('SIGQUIT');
    }),
  };
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/** An undici Agent whose connections leave from `localAddress` (undici's `connect` options ignore it), optionally over TLS with `ca`. */
export async function agentFrom(localAddress: string, ca?: string) {
  const net = await import('node:net');
  const tls = await import('node:tls');
  const { Agent } = await import('undici');
  return new Agent({
    connect: (opts, cb) => {
      const base = { host: opts.hostname, port: Number(opts.port), localAddress };
      const s = ca ? tls.connect({ ...base, ca, servername: opts.servername ?? undefined }) : net.connect(base);
      s.once(ca ? 'secureConnect' : 'connect', () => cb(null, s));
      s.once('error', (e) => cb(e, null));
      return s;
    },
  });
}
