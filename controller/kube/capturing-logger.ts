/**
 * A pino logger that keeps its records in memory, for tests that check what an operator would
 * see in the logs.
 */
import { pino } from 'pino';
import type { Logger } from '../observability/logger.ts';

export interface LogRecord {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export function capturingLogger(level = 'debug'): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino(
    { level, formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
  );
  return { logger, records };
}
