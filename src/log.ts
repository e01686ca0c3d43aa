// Structured logs: one JSON object per line with a level (pino), or `--log-format text` for a human at a terminal.
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };
export type LogFormat = 'json' | 'text';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A tiny pretty-printer so that the text format needs no extra runtime dependency. */
function textLine(line: string): string {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, pid: _pid, hostname: _h, ...rest } = o;
    const ts = typeof time === 'number' ? new Date(time).toISOString() : '';
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg ?? '');
    // One event, one line: control characters from user data are escaped, never printed.
    return `${ts} ${LEVEL_NAMES[Number(level)] ?? String(level)} ${escapeControls(text)}${extra ? ` ${escapeControls(extra)}` : ''}\n`;
  } catch {
    return line;
  }
}

function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * `fd` 2 for the commands whose standard output is their result (translate, check): a log line must never land in the
 * JSON another tool parses. `onProblem` is called for each error logged (check's exit status counts them).
 */
export function createLogger(format: LogFormat, level = 'info', o: { fd?: 1 | 2; onProblem?: () => void } = {}): Logger {
  const fd = o.fd ?? 1;
  const onProblem = o.onProblem;
  const hooks = onProblem
    ? {
        logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: Parameters<Logger['info']>) => void, level: number) {
          if (level >= 50) onProblem();
          method.apply(this, args);
        },
      }
    : undefined;
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime, ...(hooks ? { hooks } : {}) };
  if (format === 'json') return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd, sync: true }));
  const out = fd === 1 ? process.stdout : process.stderr;
  return pino(base, {
    write(line: string) {
      out.write(textLine(line));
    },
  });
}
