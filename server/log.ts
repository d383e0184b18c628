import pino from 'pino';

export type Logger = pino.Logger;

/** The process logger: JSON lines on stdout (journald/systemd collect them). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'eportal' },
    // Server ids are credentials; make sure a stray one in a logged object is masked.
    redact: { paths: ['serverId', '*.serverId', 'password', '*.password', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
  });
}
