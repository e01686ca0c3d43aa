// The dashboard (issue 13 §4): its traffic windows fed by the access log's records, its endpoint health read from
// HAProxy's statistics when a browser asks, and the JSON view of the live model (data.ts).
import type { RequestRecord } from '../../accesslog/index.js';
import type { RouteLookup } from '../../explain/lookup.js';
import type { TranslateResult } from '../../model/types.js';
import type { EndpointState } from '../backend-metrics.js';
import { ALL_TRAFFIC, CATCH_ALL_HOST, QueryError, dashboardJson, parseQuery } from './data.js';
import type { DashboardTraffic } from './data.js';
import { EndpointHealth } from './endpoint-health.js';
import { TrafficWindow } from './traffic-window.js';

const BUCKET_MS = 10_000;
const BUCKETS = 6;
/** More hosts or Ingresses than this with traffic in one minute: the least recently seen are not shown. */
const MAX_KEYS = 20_000;
/** An endpoint whose failed attempts grew stays red this long. */
const FAILING_FOR_MS = BUCKET_MS * BUCKETS;

export interface DashboardOptions {
  /** The live TranslateResult; undefined before the first configuration is live. */
  live: () => TranslateResult | undefined;
  /** HAProxy's view of the endpoints (BackendMetrics.endpoints). */
  endpoints: () => Promise<EndpointState[]>;
  /** The route that served a Host and path (RequestRoutes, as the traffic metrics use). */
  route: (host: string, path: string) => RouteLookup | undefined;
  now?: () => number;
}

export class Dashboard {
  private readonly traffic: DashboardTraffic;
  private readonly health = new EndpointHealth(FAILING_FOR_MS);
  private readonly now: () => number;
  private prunedAt = 0;

  constructor(private readonly o: DashboardOptions) {
    this.now = o.now ?? Date.now;
    const window = (maxKeys: number): TrafficWindow => new TrafficWindow({ bucketMs: BUCKET_MS, buckets: BUCKETS, maxKeys, now: this.now });
    this.traffic = { hosts: window(MAX_KEYS), ingresses: window(MAX_KEYS), all: window(1) };
  }

  /** Every request HAProxy served; those no route served count only in the totals. */
  observe(r: RequestRecord): void {
    this.traffic.all.record(ALL_TRAFFIC, r.status, r.totalMs);
    const route = this.o.route(r.host, r.path);
    if (!route) return;
    this.traffic.hosts.record(route.host ?? CATCH_ALL_HOST, r.status, r.totalMs);
    this.traffic.ingresses.record(route.ingress, r.status, r.totalMs);
  }

  async json(query: URLSearchParams): Promise<{ status: number; contentType: string; body: string }> {
    let q;
    try {
      q = parseQuery(query);
    } catch (e) {
      if (e instanceof QueryError) return { status: 400, contentType: 'text/plain; charset=utf-8', body: `${e.message}\n` };
      throw e;
    }
    const result = this.o.live();
    // Health is only as fresh as HAProxy's statistics; a failed read leaves the last known state (BackendMetrics
    // counts the failure in portico_haproxy_stats_errors_total).
    if (result) this.health.update(await this.o.endpoints(), this.now());
    const now = this.now();
    if (now - this.prunedAt > BUCKET_MS * BUCKETS) {
      this.prunedAt = now;
      this.traffic.hosts.prune();
      this.traffic.ingresses.prune();
    }
    const body = JSON.stringify(dashboardJson({ result, traffic: this.traffic, health: this.health, now, windowSeconds: (BUCKET_MS * BUCKETS) / 1000 }, q));
    return { status: 200, contentType: 'application/json', body };
  }
}
