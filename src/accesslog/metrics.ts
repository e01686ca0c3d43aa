// The access log's own counters, on the admin port's registry: lines written, left out, dropped because standard
// output was too slow, lost because HAProxy's ring was full, and HAProxy lines that were not records.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AccessLog } from './access-log.js';
import type { BoundedLineWriter } from './writer.js';
import type { AccessLogRingReader } from './ring-reader.js';

export function registerAccessLogMetrics(registry: Registry, log: AccessLog, writer: BoundedLineWriter, reader?: AccessLogRingReader): void {
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        this.inc(read());
      },
    });
  };
  counter('portico_access_log_records_total', 'Request records read from HAProxy.', () => log.counts.records);
  counter('portico_access_log_lines_total', 'Access log lines written to standard output.', () => writer.written);
  counter('portico_access_log_skipped_total', 'Records left out of the access log (enable-access-log, skip-access-log-urls, disable-access-log, the default backend).', () => log.counts.skipped);
  counter('portico_access_log_dropped_lines_total', 'Access log lines dropped because standard output did not keep up (the queue was full) or was closed.', () => writer.dropped);
  counter('portico_access_log_lost_lines_total', "Request lines HAProxy dropped because Portico had not read its worker's ring for that long (--access-log-buffer): those requests have no line and are missing from the traffic metrics.", () => log.counts.lost);
  counter('portico_access_log_ring_sessions_total', "Runtime API sessions opened to read a worker's ring (one per worker, and again after one was lost).", () => reader?.connects ?? 0);
  counter('portico_access_log_malformed_total', 'Lines from HAProxy that looked like records but were not.', () => log.counts.malformed);
  new Gauge({ name: 'portico_access_log_queue_high_water_bytes', help: 'The most bytes of access log lines waiting for standard output at once.', registers: [registry], collect(this: Gauge) { this.set(writer.highWater); } });
}
