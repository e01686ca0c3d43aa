// HAProxy's `show stat` (CSV) over the runtime API socket, reduced to the columns the backend metrics use. The
// stats socket, not HAProxy's Prometheus exporter: the exporter needs a frontend in the configuration (every plain
// configuration would change and cost a listener), and its labels are section and server names that would need
// rewriting line by line all the same.
import { cliCommand } from '../haproxy/process/master-cli.js';

/** Counters only ever grow while one HAProxy worker lives; a reload starts them at 0 again. */
export const COUNTERS = ['econ', 'eresp', 'wretr', 'wredis', 'hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'] as const;
export type CounterName = (typeof COUNTERS)[number];

export interface StatRow {
  section: string;
  /** `BACKEND` for the section's own row. */
  server: string;
  /** HAProxy's status text: `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, `UP 1/3`... */
  status: string;
  /** Connections open now (`scur`) and requests waiting in the queue (`qcur`). */
  scur: number;
  qcur: number;
  /** In the order of COUNTERS. */
  counters: Float64Array;
}

/** Backends (type 2) and servers (type 4) of every section: frontends and listeners are not asked for. */
const SHOW_STAT = 'show stat -1 6 -1';

export async function readStats(socket: string, timeoutMs: number): Promise<StatRow[]> {
  return parseShowStatYielding(await cliCommand(socket, SHOW_STAT, timeoutMs));
}

/** Lines parsed between two turns of the event loop: at 10,000 Services (40,000 rows, 9 MB) the whole parse takes
 * 100-200 ms, which must not hold back a sync or a probe waiting behind a scrape. */
const LINES_PER_TURN = 2_000;

/** parseShowStat, giving the event loop a turn every LINES_PER_TURN lines. */
export async function parseShowStatYielding(text: string): Promise<StatRow[]> {
  const rows: StatRow[] = [];
  const parse = showStatParser(text);
  for (let from = 1; ; from += LINES_PER_TURN) {
    if (!parse(from, from + LINES_PER_TURN, rows)) return rows;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Columns are found by name in the header (`# pxname,svname,...`): their order differs between HAProxy versions. */
export function parseShowStat(text: string): StatRow[] {
  const rows: StatRow[] = [];
  showStatParser(text)(1, Number.POSITIVE_INFINITY, rows);
  return rows;
}

/** A parser of `text`'s lines [from, to) into `rows`; it returns whether lines are left. */
function showStatParser(text: string): (from: number, to: number, rows: StatRow[]) => boolean {
  const lines = text.split('\n');
  const header = lines[0]?.startsWith('# ') ? lines[0].slice(2).split(',') : undefined;
  if (!header) throw new Error(`show stat: no header line in ${JSON.stringify(text.slice(0, 200))}`);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`show stat: no column ${name}`);
    return i;
  };
  const [px, sv, status, scur, qcur] = [col('pxname'), col('svname'), col('status'), col('scur'), col('qcur')];
  const counterCols = COUNTERS.map(col);
  // HAProxy 2.6 prints some 140 columns: splitting only as far as the last one read saves most of the parse.
  const last = Math.max(px, sv, status, scur, qcur, ...counterCols) + 1;
  return (from, to, rows) => {
    const end = Math.min(to, lines.length);
    for (let i = from; i < end; i++) {
      const line = lines[i]!;
      if (line === '' || line.startsWith('#')) continue;
      const f = line.split(',', last);
      const counters = new Float64Array(COUNTERS.length);
      for (let c = 0; c < counterCols.length; c++) counters[c] = num(f[counterCols[c]!]);
      rows.push({ section: f[px] ?? '', server: f[sv] ?? '', status: f[status] ?? '', scur: num(f[scur]), qcur: num(f[qcur]), counters });
    }
    return end < lines.length;
  };
}

/** An empty field (a counter the row type lacks) is 0. */
function num(s: string | undefined): number {
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** What HAProxy knows of a server's health. Portico configures no health checks, so a server is `no check` (taken
 * to be up) until Portico itself puts it in maintenance; a connection refused does not mark it down. */
export function serverUp(status: string): boolean {
  return /^(UP|no check|DRAIN)/.test(status);
}
