// The access log: HAProxy's request lines (each worker's ring, ring-reader.ts) -> typed records -> Portico's standard output and
// every subscriber. Names that cost HAProxy nothing to leave out are added here: the Service of the section that
// served (from the live model and the spares bound at runtime) and, through a RouteResolver, the Ingress and rule.
import type { AccessLogSettings } from '../model/types.js';
import { formatRecord } from './output.js';
import type { AccessLogFormat } from './output.js';
import { parseHaproxyLine } from './record.js';
import type { RequestRecord, RouteResolver } from './record.js';
import type { LineSink } from './writer.js';

export type AccessLogMode = AccessLogFormat | 'off';
export type RecordListener = (record: RequestRecord) => void;

export interface AccessLogOptions {
  mode: AccessLogMode;
  sink: LineSink;
  /** The Service (`namespace/name:port`) a section serves right now, and the address and port of one of its servers
   * by name; undefined for a section of Portico's own. */
  sectionOf: (section: string, server: string) => { service: string; endpoint: string } | undefined;
  /** The settings ConfigMap's access-log keys, as live now. */
  settings: () => AccessLogSettings | undefined;
  /** A line of a worker's ring that is not a request (HAProxy's own messages to the listeners' log). */
  onOtherLine: (line: string) => void;
  /** HAProxy dropped lines: Portico had not read its ring for that long (`--access-log-buffer`). */
  onLost?: (lines: number) => void;
  /** Bytes of each worker's ring: a ring read again from its start (a lost session) holds at most a line per 128. */
  ringBytes?: number;
}

/** How many request keys are remembered to drop the second copy of a line: more lines than a ring holds. */
const SEEN_MIN = 1 << 17;

/** A line that starts a request record: its key (the worker's pid and request counter) is read before the rest. */
const KEY_PREFIX = '{"k":"';

/** HAProxy's note in a ring, where it could not keep lines (sink.c: "%d event(s) dropped"). */
const DROPPED = /^(\d{1,12}) events? dropped$/;

/** A line longer than this without a newline is not HAProxy's (whose lines are at most 4 kB): it is discarded. */
const PARTIAL_MAX = 64 << 10;

export class AccessLog {
  private readonly listeners = new Set<RecordListener>();
  private resolver: RouteResolver | undefined;
  readonly counts = { records: 0, logged: 0, skipped: 0, malformed: 0, lost: 0 };
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private seenHead = 0;
  private readonly seenMax: number;

  constructor(private readonly o: AccessLogOptions) {
    this.seenMax = Math.max(SEEN_MIN, Math.ceil((o.ringBytes ?? 0) / 128));
  }

  /** Subscribe to every request record (including those the access log leaves out); returns the unsubscribe. */
  subscribe(listener: RecordListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The hook that names the Ingress and rule of a request (explain's matcher, wired by the lead). */
  setRouteResolver(resolver: RouteResolver | undefined): void {
    this.resolver = resolver;
  }

  /** A reader of one session on a worker's ring (ring-reader.ts): lines may span its chunks. */
  reader(): (chunk: string) => void {
    let partial = '';
    let discarding = false;
    return (chunk) => {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
        const piece = chunk.slice(start, nl);
        start = nl + 1;
        if (discarding) {
          discarding = false;
          partial = '';
          continue;
        }
        const line = partial + piece;
        partial = '';
        this.line(line);
      }
      if (discarding) return;
      partial += chunk.slice(start);
      if (partial.length > PARTIAL_MAX) {
        this.counts.malformed++;
        partial = '';
        discarding = true;
      }
    };
  }

  private line(line: string): void {
    if (line.trim() === '') return;
    // A ring read again from its start (a session lost and opened anew) repeats lines: known keys cost no parsing.
    if (line.startsWith(KEY_PREFIX)) {
      const end = line.indexOf('"', KEY_PREFIX.length);
      if (end > 0 && this.seen.has(line.slice(KEY_PREFIX.length, end))) return;
    }
    const parsed = parseHaproxyLine(line);
    if (!parsed) {
      const dropped = DROPPED.exec(line);
      if (dropped) {
        this.counts.lost += Number(dropped[1]);
        this.o.onLost?.(Number(dropped[1]));
        return;
      }
      if (line.startsWith('{')) this.counts.malformed++;
      this.o.onOtherLine(line);
      return;
    }
    if (this.seen.has(parsed.key)) return;
    this.remember(parsed.key);
    this.counts.records++;
    const routed = this.resolver?.(parsed.host, parsed.path, parsed.route);
    const served = parsed.section ? this.o.sectionOf(parsed.section, parsed.server) : undefined;
    // The parser left these empty for this: filled in place, the record is not copied per line.
    const record: RequestRecord = parsed;
    record.endpoint = served?.endpoint ?? '';
    record.service = served?.service ?? routed?.service ?? '';
    record.namespace = routed?.namespace ?? '';
    record.ingress = routed?.ingress ?? '';
    record.rule = routed?.path ?? '';
    for (const l of this.listeners) {
      try {
        l(record);
      } catch {
        // A subscriber's failure is its own: the log and the other subscribers go on.
      }
    }
    if (this.o.mode === 'off') return;
    if (!this.logged(record)) {
      this.counts.skipped++;
      return;
    }
    this.counts.logged++;
    this.o.sink.write(formatRecord(record, this.o.mode));
  }

  /** The keys of the last seenMax records, oldest forgotten first. */
  private remember(key: string): void {
    this.seen.add(key);
    if (this.seenOrder.length < this.seenMax) {
      this.seenOrder.push(key);
      return;
    }
    this.seen.delete(this.seenOrder[this.seenHead]!);
    this.seenOrder[this.seenHead] = key;
    this.seenHead = (this.seenHead + 1) % this.seenMax;
  }

  /** ingress-nginx's choices of what reaches the access log. */
  private logged(r: RequestRecord): boolean {
    const s = this.o.settings();
    if (s?.disabled === true || r.quiet) return false;
    if (r.route === '' && s?.defaultBackend !== true) return false;
    if (s?.skipUrls && s.skipUrls.includes(r.query ? `${r.path}?${r.query}` : r.path)) return false;
    return true;
  }
}
