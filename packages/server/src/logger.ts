import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';

/**
 * Structured JSON logs. Handlers never log headers, bodies or query strings; the redaction list is a second
 * line of defence should an object carrying them reach a log call.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const secretHeaders = [
    'authorization',
    'x-api-key',
    'user-authorization',
    'cookie',
    'x-scx-signed',
    'x-scx-passphrase',
  ];
  return pino(
    {
      level: config.logLevel,
      base: { service: 'handoff' },
      redact: {
        paths: [
          ...secretHeaders.map((h) => `req.headers["${h}"]`),
          '*.password',
          '*.passphrase',
          '*.secret',
          '*.token',
          '*.refreshToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
