// The access log's interface to the rest of Portico (the CLI, and the request metrics that subscribe to records).
export { AccessLog } from './access-log.js';
export type { AccessLogMode, AccessLogOptions, RecordListener } from './access-log.js';
export type { RequestRecord, RouteInfo, RouteResolver } from './record.js';
export { parseHaproxyLine } from './record.js';
export { formatRecord } from './output.js';
export { BoundedLineWriter } from './writer.js';
export { AccessLogRingReader } from './ring-reader.js';
export { registerAccessLogMetrics } from './metrics.js';
