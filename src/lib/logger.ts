import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** The one place pino is configured; every module gets a child of this logger. */
export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { app: 'onecc' } }, destination);
}

/** A logger that writes nothing: for tests and benchmarks that do not want log noise. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
