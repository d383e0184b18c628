// Runs once before the suite: makes sure nothing in it can reach outside
// 127.0.0.1 by accident (every server a test talks to is started locally).
export default function setup(): void {
  process.env.EPORTAL_LOG_LEVEL ??= 'silent';
  // Outbound proxies from the developer's shell must not leak into tests.
  for (const v of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'PROXY', 'ALL_PROXY', 'all_proxy']) delete process.env[v];
}
