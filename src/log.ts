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

export function createLogger(format: LogFormat, level = 'info'): Logger {
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime };
  if (format === 'json') return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 1, sync: true }));
  return pino(base, {
    write(line: string) {
      process.stdout.write(textLine(line));
    },
  });
}
