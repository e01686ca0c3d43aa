// Services and endpoints as HAProxy sees them, read from `show stat` when /metrics is scraped (at most once per
// `cacheMs`, however many scrapers), labelled with Kubernetes names (section-names.ts), never with HAProxy's.
//
// HAProxy's counters restart at 0 with every reload (a new worker), and a spare section keeps the counts of the
// Service it served before it was bound to another one. Portico therefore exports its own counters, grown by what
// HAProxy's grew between two scrapes: they never go backwards while Portico runs, and a Service never inherits
// another's counts. What happened between a worker's last scrape and its reload is not counted.
//
// At 10,000 Services these are a few hundred thousand series: they are written as text directly, not through
// prom-client's label maps, which cost several times more per series.
import type { RuntimeState } from '../haproxy/runtime/plan.js';
import { COUNTERS, serverUp } from './haproxy-stats.js';
import type { CounterName, StatRow } from './haproxy-stats.js';
import { escapeLabelValue, familyHeader } from './prometheus-text.js';
import { SectionNames } from './section-names.js';
import type { EndpointName, ServiceName } from './section-names.js';

export interface BackendStatsSource {
  /** The runtime state HAProxy serves now; undefined before the first configuration is live. */
  live(): RuntimeState | undefined;
  read(): Promise<StatRow[]>;
}

/** Counts in the order of COUNTERS. */
type Counts = Float64Array;
const at = (c: CounterName): number => COUNTERS.indexOf(c);
const [ECON, ERESP, WRETR, WREDIS] = [at('econ'), at('eresp'), at('wretr'), at('wredis')];
const CODE_CLASSES: [number, string][] = [[at('hrsp_1xx'), '1xx'], [at('hrsp_2xx'), '2xx'], [at('hrsp_3xx'), '3xx'], [at('hrsp_4xx'), '4xx'], [at('hrsp_5xx'), '5xx'], [at('hrsp_other'), 'other']];

interface ServiceSample {
  name: ServiceName;
  /** `namespace="..",service="..",port=".."`, ready to print. */
  labels: string;
  up: number;
  down: number;
  active: number;
  queued: number;
  counts: Counts;
}

interface EndpointSample {
  name: EndpointName;
  labels: string;
  service: ServiceSample;
  up: boolean;
  active: number;
  counts: Counts;
}

export interface EndpointState {
  name: EndpointName;
  up: boolean;
  failedAttempts: number;
}

// HAProxy counts a failed attempt as a connection error only when it gives up; one it tries again on the same
// endpoint is a retry, one it sends elsewhere a redispatch: for "which endpoint fails", all three are one thing.
const failedAttempts = (x: EndpointSample): number => x.counts[ECON]! + x.counts[WRETR]! + x.counts[WREDIS]!;

interface Snapshot {
  services: ServiceSample[];
  endpoints: EndpointSample[];
}

/** What a row's counters were at the last scrape, and in which generation (worker) HAProxy counted them. */
interface Seen {
  epoch: string;
  counts: Counts;
}

const ROWS_PER_TURN = 4_000;

export class BackendMetrics {
  /** The Service and endpoint series as last read, and when. */
  private cached: { at: number; body: string } | undefined;
  private snapshot: Snapshot = { services: [], endpoints: [] };
  private inFlight: Promise<string> | undefined;
  private names: { state: RuntimeState; names: SectionNames } | undefined;
  /** By `section` (a section's own row) and `section/server`. */
  private seen = new Map<string, Seen>();
  /** Portico's monotonic counters, by Service and by endpoint key. */
  private serviceTotals = new Map<string, Counts>();
  private endpointTotals = new Map<string, Counts>();
  private errors = 0;

  constructor(
    private readonly source: BackendStatsSource,
    private readonly cacheMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The series in Prometheus text format: recent enough, or read afresh; concurrent scrapes share one read. */
  exposition(): Promise<string> {
    if (this.cached && this.now() - this.cached.at < this.cacheMs) return Promise.resolve(errorsLine(this.errors) + this.cached.body);
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The endpoints as HAProxy saw them at the last read, read afresh when older than the cache allows (the
   * dashboard's health column): whether HAProxy sends to each, and its failed attempts so far. */
  async endpoints(): Promise<EndpointState[]> {
    await this.exposition();
    return this.snapshot.endpoints.map((e) => ({ name: e.name, up: e.up, failedAttempts: failedAttempts(e) }));
  }

  private async refresh(): Promise<string> {
    const state = this.source.live();
    let snapshot: Snapshot = { services: [], endpoints: [] };
    try {
      if (state) snapshot = await this.update(state, await this.source.read());
    } catch {
      // Not cached: the next scrape tries again.
      this.errors++;
      return errorsLine(this.errors) + (this.cached?.body ?? (await format(snapshot)));
    }
    this.snapshot = snapshot;
    this.cached = { at: this.now(), body: await format(snapshot) };
    return errorsLine(this.errors) + this.cached.body;
  }

  /** Folds one `show stat` into Portico's counters and returns the series' values, giving the event loop a turn every
   * ROWS_PER_TURN rows (40,000 rows at 10,000 Services take a sixth of a second). */
  async update(state: RuntimeState, rows: readonly StatRow[]): Promise<Snapshot> {
    if (this.names?.state !== state) this.names = { state, names: SectionNames.of(state) };
    const names = this.names.names;
    const epoch = state.layout.filesDir;
    const seen = new Map<string, Seen>();
    const services = new Map<string, ServiceSample>();
    const endpoints = new Map<string, EndpointSample>();
    const serviceTotals = new Map<string, Counts>();
    const endpointTotals = new Map<string, Counts>();
    const grow = (totals: Map<string, Counts>, previous: Map<string, Counts>, owner: string, delta: Counts): Counts => {
      let t = totals.get(owner);
      if (!t) {
        t = previous.get(owner) ?? new Float64Array(COUNTERS.length);
        totals.set(owner, t);
      }
      for (let c = 0; c < t.length; c++) t[c]! += delta[c]!;
      return t;
    };
    const serviceOf = (name: ServiceName): ServiceSample => {
      const key = serviceLabels(name);
      let s = services.get(key);
      if (!s) {
        s = { name, labels: key, up: 0, down: 0, active: 0, queued: 0, counts: new Float64Array(COUNTERS.length) };
        services.set(key, s);
      }
      return s;
    };
    let turn = 0;
    for (const r of rows) {
      if (++turn % ROWS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      const own = r.server === 'BACKEND';
      const rowKey = own ? r.section : `${r.section}/${r.server}`;
      const delta = this.delta(rowKey, epoch, r.counters);
      seen.set(rowKey, { epoch, counts: r.counters });
      if (own) {
        const service = names.service(r.section);
        if (!service) continue;
        const s = serviceOf(service);
        s.counts = grow(serviceTotals, this.serviceTotals, s.labels, delta);
        s.active += r.scur;
        s.queued += r.qcur;
        continue;
      }
      const endpoint = names.endpoint(r.section, r.server);
      if (!endpoint) continue;
      const key = endpointLabels(endpoint);
      const counts = grow(endpointTotals, this.endpointTotals, key, delta);
      const up = serverUp(r.status);
      const e = endpoints.get(key);
      // A lone endpoint's twin dials the same address: one endpoint, up while either entry is.
      if (e) {
        e.up ||= up;
        e.active += r.scur;
      } else endpoints.set(key, { name: endpoint, labels: key, service: serviceOf(endpoint), up, active: r.scur, counts });
      serviceOf(endpoint).queued += r.qcur;
    }
    for (const e of endpoints.values()) e.service[e.up ? 'up' : 'down']++;
    this.seen = seen;
    this.serviceTotals = serviceTotals;
    this.endpointTotals = endpointTotals;
    return { services: [...services.values()], endpoints: [...endpoints.values()] };
  }

  /** How much a row's counters grew since the last scrape. A row first seen, or seen in another worker, counts from
   * 0; a counter that went down means HAProxy started it again (a restarted worker under the same generation). */
  private delta(rowKey: string, epoch: string, now: Counts): Counts {
    const before = this.seen.get(rowKey);
    if (!before || before.epoch !== epoch) return now;
    const d = new Float64Array(now.length);
    for (let c = 0; c < now.length; c++) {
      if (now[c]! < before.counts[c]!) return now;
      d[c] = now[c]! - before.counts[c]!;
    }
    return d;
  }
}

/** SectionNames hands out the same name objects until the state changes: their label text is made once. An
 * endpoint's name is its Service's name too, hence a map for each. */
const serviceText = new WeakMap<ServiceName, string>();
const endpointText = new WeakMap<EndpointName, string>();

function serviceLabels(s: ServiceName): string {
  let t = serviceText.get(s);
  if (t === undefined) {
    t = `namespace="${escapeLabelValue(s.namespace)}",service="${escapeLabelValue(s.service)}",port="${escapeLabelValue(s.port)}"`;
    serviceText.set(s, t);
  }
  return t;
}

function endpointLabels(e: EndpointName): string {
  let t = endpointText.get(e);
  if (t === undefined) {
    t = `${serviceLabels(e)},endpoint="${escapeLabelValue(e.endpoint)}"`;
    endpointText.set(e, t);
  }
  return t;
}

function errorsLine(n: number): string {
  const name = 'portico_haproxy_stats_errors_total';
  return `${familyHeader(name, 'counter', "Scrapes that could not read HAProxy's statistics (the Service and endpoint series then repeat the last values read).")}\n${name} ${n}\n`;
}

/** The series as text, a family at a time with a turn of the event loop between two (at 10,000 Services a family is
 * up to 30,000 lines: a few milliseconds each, where the whole text would hold a sync back for a tenth of a second). */
async function format(s: Snapshot): Promise<string> {
  const out: string[] = [];
  const families: (() => void)[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, lines: () => void): void => {
    families.push(() => {
      out.push(`\n${familyHeader(name, type, help)}\n`);
      lines();
    });
  };
  family('portico_service_endpoints', 'gauge', 'Endpoints of a Service port in HAProxy, by state: up (HAProxy sends requests to it; without health checks, any endpoint Kubernetes lists) or down (in maintenance).', () => {
    for (const x of s.services) out.push(`portico_service_endpoints{${x.labels},state="up"} ${x.up}\nportico_service_endpoints{${x.labels},state="down"} ${x.down}\n`);
  });
  const perService = (name: string, type: 'gauge' | 'counter', help: string, value: (x: ServiceSample) => number): void =>
    family(name, type, help, () => {
      for (const x of s.services) out.push(`${name}{${x.labels}} ${value(x)}\n`);
    });
  perService('portico_service_active_connections', 'gauge', 'Requests of a Service port HAProxy is handling now.', (x) => x.active);
  perService('portico_service_queued_requests', 'gauge', 'Requests for a Service port waiting in HAProxy for a connection to an endpoint.', (x) => x.queued);
  family('portico_service_responses_total', 'counter', 'Responses HAProxy sent for a Service port, by status class (its own 502, 503 and 504 included).', () => {
    for (const x of s.services) for (const [c, cls] of CODE_CLASSES) out.push(`portico_service_responses_total{${x.labels},code_class="${cls}"} ${x.counts[c]}\n`);
  });
  perService('portico_service_connection_errors_total', 'counter', 'Requests of a Service port that got no connection to any endpoint, every try failed (refused, timed out).', (x) => x.counts[ECON]!);
  perService('portico_service_response_errors_total', 'counter', 'Responses from the endpoints of a Service port that failed (connection closed or reset mid-response, a read timeout).', (x) => x.counts[ERESP]!);
  perService('portico_service_retries_total', 'counter', 'Failed attempts on an endpoint of a Service port that HAProxy tried again on the same endpoint.', (x) => x.counts[WRETR]!);
  perService('portico_service_redispatches_total', 'counter', 'Failed attempts on an endpoint of a Service port that HAProxy tried again on another endpoint.', (x) => x.counts[WREDIS]!);
  const perEndpoint = (name: string, type: 'gauge' | 'counter', help: string, value: (x: EndpointSample) => number): void =>
    family(name, type, help, () => {
      for (const x of s.endpoints) out.push(`${name}{${x.labels}} ${value(x)}\n`);
    });
  perEndpoint('portico_endpoint_up', 'gauge', 'Whether HAProxy sends requests to an endpoint (1) or holds it in maintenance (0). Without health checks, a pod that stopped answering stays 1: see its connection errors.', (x) => (x.up ? 1 : 0));
  perEndpoint('portico_endpoint_active_connections', 'gauge', 'Connections from HAProxy to an endpoint open now.', (x) => x.active);
  perEndpoint('portico_endpoint_failed_attempts_total', 'counter', "Attempts to use an endpoint that failed (connection refused or timed out, or a response the Service's retry policy retries), whether the request was then tried again or not.", failedAttempts);
  for (const write of families) {
    write();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out.join('');
}
