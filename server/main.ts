// Starts the portal with the configuration from file, envdir and environment.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`eportal: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const app = await buildApp(config);
  await app.start();
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second signal forces it
    app.log.info({ signal }, 'shutting down');
    // a stop that hangs must not keep systemd waiting for its own kill timeout
    setTimeout(() => {
      app.log.error('shutdown did not finish within 25 s; exiting');
      process.exit(1);
    }, 25_000).unref();
    app.stop().then(() => process.exit(0), (err: unknown) => {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

await main();
