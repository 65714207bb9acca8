// The --log-level flag every long-running command takes (operator, agent, start).
import { LOG_LEVELS, type LogLevel } from '../controller/runtime/controller.js';
import { UsageError } from './usage-error.js';

export const LOG_LEVEL_USAGE =
  '--log-level LEVEL          debug (also each reconcile, apply and probe), info (what changed; default) or error (errors only)';

export function parseLogLevel(text: string | undefined): LogLevel {
  const level = LOG_LEVELS.find((l) => l === (text ?? 'info'));
  if (!level)
    throw new UsageError(
      `--log-level must be debug (also each reconcile and apply), info (what changed) or error (errors only), got ${JSON.stringify(text)}`,
    );
  return level;
}
