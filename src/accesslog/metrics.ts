// The access log's own counters, on the admin port's registry: lines written, left out, dropped because standard
// output was too slow, and HAProxy lines that were not records.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AccessLog } from './access-log.js';
import type { BoundedLineWriter } from './writer.js';
import type { DroppedLineRecovery } from './recovery.js';

export function registerAccessLogMetrics(registry: Registry, log: AccessLog, writer: BoundedLineWriter, recovery?: DroppedLineRecovery): void {
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
  counter('portico_access_log_ring_reads_total', "Times a worker's ring was read for lines its standard output dropped.", () => recovery?.reads ?? 0);
  counter('portico_access_log_malformed_total', 'Lines from HAProxy that looked like records but were not.', () => log.counts.malformed);
  new Gauge({ name: 'portico_access_log_queue_high_water_bytes', help: 'The most bytes of access log lines waiting for standard output at once.', registers: [registry], collect(this: Gauge) { this.set(writer.highWater); } });
}
