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
 * JSON another tool parses. `onProblem` is called for each error logged (check's exit status counts them). `sink`:
 * serve's standard output, shared with the access log (src/accesslog/writer.ts), which takes every line instead of
 * `fd`, so that one writer alone writes the descriptor.
 */
export function createLogger(format: LogFormat, level = 'info', o: { fd?: 1 | 2; onProblem?: () => void; sink?: { writeOwn(line: string): void } } = {}): Logger {
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
  const sink = o.sink;
  if (sink) return format === 'json' ? pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => sink.writeOwn(line) }) : pino(base, { write: (line: string) => sink.writeOwn(textLine(line)) });
  if (format === 'json') return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd, sync: true }));
  const out = fd === 1 ? process.stdout : process.stderr;
  return pino(base, {
    write(line: string) {
      out.write(textLine(line));
    },
  });
}

/**
 * Counts that can arrive thousands of times a second (lines lost) reported at most once per `periodMs`: the first
 * at once, the rest summed into the next report.
 */
export function throttledCount(periodMs: number, report: (count: number) => void): { add: (n: number) => void } {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (pending === 0) return;
    const n = pending;
    pending = 0;
    report(n);
    timer = setTimeout(flush, periodMs);
    timer.unref();
  };
  return {
    add: (n) => {
      pending += n;
      if (timer === undefined) flush();
    },
  };
}
