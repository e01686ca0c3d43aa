// The per-request traffic series dashboards built for ingress-nginx read (its socket collector's
// nginx_ingress_controller_requests and histograms: same names, types, labels, buckets and help), and the same data
// under Portico's names, built from the access log's records (src/accesslog/): HAProxy writes each request's line
// anyway, so the series cost the data plane nothing more. Labels are bounded whatever clients send: the path is the
// Ingress path of the route that served (never the request's), the host is the route's host (its group key) and
// only with --metrics-per-host, a method outside HTTP's registered ones is OTHER, and a request no route served
// (HAProxy's own 404 or 400) is counted in no series, as ingress-nginx skips hosts no Ingress defines.
import type { RequestRecord } from '../accesslog/index.js';
import type { RouteLookup } from '../explain/lookup.js';
import { escapeLabelValue, familyHeader } from './prometheus-text.js';

/** prometheus.DefBuckets, LinearBuckets(10, 10, 10), ExponentialBuckets(10, 10, 7): ingress-nginx's defaults. */
const TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LENGTH_BUCKETS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
const SIZE_BUCKETS = [10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const TAGS = ['status', 'method', 'path', 'namespace', 'ingress', 'service', 'canary'] as const;

type Tag = (typeof TAGS)[number] | 'host';
type Labels = Partial<Record<Tag, string>>;

export interface TrafficOptions {
  /** ingress-nginx's constant labels (controller_namespace, controller_class, controller_pod) on its names. */
  constLabels: Record<string, string>;
  perHost: boolean;
  /** The route that served a record's Host and path (RequestRoutes). */
  route: (host: string, path: string) => RouteLookup | undefined;
}

/** What a record gives each histogram (undefined: HAProxy never reached that step). */
type Measure = (r: RequestRecord) => number | undefined;
const ms = (v: number): number | undefined => (v >= 0 ? v / 1000 : undefined);
const bytes = (v: number): number | undefined => (v >= 0 ? v : undefined);

interface HistogramDef {
  nginx?: { name: string; help: string };
  portico?: { name: string; help: string };
  buckets: readonly number[];
  measure: Measure;
}

/** Every histogram, with ingress-nginx's name and help and Portico's, in exposition order. */
const HISTOGRAMS: readonly HistogramDef[] = [
  { nginx: { name: 'request_duration_seconds', help: 'The request processing time in milliseconds' }, portico: { name: 'portico_http_request_duration_seconds', help: "From a request's first byte to its response's last (HAProxy's %Ta, nginx's $request_time)." }, buckets: TIME_BUCKETS, measure: (r) => ms(r.totalMs) },
  { nginx: { name: 'connect_duration_seconds', help: 'The time spent on establishing a connection with the upstream server' }, portico: { name: 'portico_http_upstream_connect_duration_seconds', help: 'Time to connect to the endpoint (HAProxy %Tc).' }, buckets: TIME_BUCKETS, measure: (r) => ms(r.connectMs) },
  { nginx: { name: 'header_duration_seconds', help: 'The time spent on receiving first header from the upstream server' }, portico: { name: 'portico_http_upstream_header_duration_seconds', help: "Time until the endpoint's response headers (HAProxy %Tr)." }, buckets: TIME_BUCKETS, measure: (r) => ms(r.responseMs) },
  { nginx: { name: 'response_duration_seconds', help: 'The time spent on receiving the response from the upstream server' }, portico: { name: 'portico_http_upstream_response_duration_seconds', help: "Time until the endpoint's response ended (HAProxy %Tr + %Td)." }, buckets: TIME_BUCKETS, measure: (r) => (r.responseMs >= 0 ? (r.responseMs + Math.max(0, r.dataMs)) / 1000 : undefined) },
  { nginx: { name: 'request_size', help: 'The request length (including request line, header, and request body)' }, buckets: LENGTH_BUCKETS, measure: (r) => bytes(r.bytesIn) },
  { nginx: { name: 'response_size', help: 'The response length (including request line, header, and request body)' }, buckets: LENGTH_BUCKETS, measure: (r) => bytes(r.bytesOut) },
  { nginx: { name: 'bytes_sent', help: 'DEPRECATED The number of bytes sent to a client' }, buckets: SIZE_BUCKETS, measure: (r) => bytes(r.bytesOut) },
  { portico: { name: 'portico_http_request_size_bytes', help: 'Bytes read from the client for the request, headers included.' }, buckets: SIZE_BUCKETS, measure: (r) => bytes(r.bytesIn) },
  { portico: { name: 'portico_http_response_size_bytes', help: 'Bytes sent to the client, headers included.' }, buckets: SIZE_BUCKETS, measure: (r) => bytes(r.bytesOut) },
];

/** One label set's counts: requests, and per histogram its buckets (not cumulative), sum and count. */
interface Series {
  labels: Labels;
  /** The label pairs as Prometheus writes them, with and without ingress-nginx's constant labels. */
  text: string;
  nginxText: string;
  requests: number;
  buckets: Float64Array[];
  sums: Float64Array;
  counts: Float64Array;
}

/**
 * The series are counted here rather than through prom-client: a record updates 16 series, and prom-client hashes
 * and validates the labels of each update, which made the traffic series the largest part of the access log's cost in
 * Portico (about half of the CPU per line). Here a record costs one map lookup by its label values and additions.
 */
export class TrafficMetrics {
  private readonly series = new Map<string, Series>();
  private readonly tags: readonly Tag[];
  private readonly constText: string;

  constructor(private readonly o: TrafficOptions) {
    this.tags = [...TAGS, ...(o.perHost ? (['host'] as const) : [])];
    this.constText = Object.entries(o.constLabels)
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
  }

  /** The labels of a record, or undefined when no route served it. */
  labels(r: RequestRecord): Labels | undefined {
    const route = this.o.route(r.host, r.path);
    if (!route) return undefined;
    const slash = route.ingress.indexOf('/');
    const [svcNamespace, svcName] = route.service.split('/') as [string, string];
    const canary = route.canary !== undefined && r.service === route.canary.service ? upstreamName(route.canary.service) : '';
    const l: Labels = {
      status: String(r.status),
      method: METHODS.has(r.method) ? r.method : 'OTHER',
      path: route.ingressPath ?? '',
      namespace: slash < 0 ? svcNamespace : route.ingress.slice(0, slash),
      ingress: slash < 0 ? route.ingress : route.ingress.slice(slash + 1),
      service: svcName ?? '',
      canary,
    };
    if (this.o.perHost) l.host = route.host ?? '';
    return l;
  }

  observe(r: RequestRecord): void {
    const l = this.labels(r);
    if (!l) return;
    let key = '';
    for (const t of this.tags) key += `${l[t] ?? ''}\u0000`;
    let s = this.series.get(key);
    if (!s) {
      const text = this.tags.map((t) => `${t}="${escapeLabelValue(l[t] ?? '')}"`).join(',');
      s = { labels: l, text, nginxText: this.constText ? `${text},${this.constText}` : text, requests: 0, buckets: HISTOGRAMS.map((h) => new Float64Array(h.buckets.length + 1)), sums: new Float64Array(HISTOGRAMS.length), counts: new Float64Array(HISTOGRAMS.length) };
      this.series.set(key, s);
    }
    s.requests++;
    for (let i = 0; i < HISTOGRAMS.length; i++) {
      const h = HISTOGRAMS[i]!;
      const v = h.measure(r);
      if (v === undefined) continue;
      let b = 0;
      while (b < h.buckets.length && v > h.buckets[b]!) b++;
      s.buckets[i]![b]!++;
      s.sums[i]! += v;
      s.counts[i]!++;
    }
  }

  /** The series in Prometheus' text format (Metrics.addText). */
  exposition(): string {
    const out: string[] = [];
    const all = [...this.series.values()];
    const counter = (name: string, help: string, nginx: boolean): void => {
      out.push(familyHeader(name, 'counter', help));
      for (const s of all) out.push(`${name}{${nginx ? s.nginxText : s.text}} ${s.requests}`);
    };
    const histogram = (i: number, name: string, help: string, nginx: boolean): void => {
      const h = HISTOGRAMS[i]!;
      out.push(familyHeader(name, 'histogram', help));
      for (const s of all) {
        const labels = nginx ? s.nginxText : s.text;
        let cumulative = 0;
        for (let b = 0; b < h.buckets.length; b++) {
          cumulative += s.buckets[i]![b]!;
          out.push(`${name}_bucket{${labels},le="${h.buckets[b]}"} ${cumulative}`);
        }
        out.push(`${name}_bucket{${labels},le="+Inf"} ${s.counts[i]}`, `${name}_sum{${labels}} ${s.sums[i]}`, `${name}_count{${labels}} ${s.counts[i]}`);
      }
    };
    counter('nginx_ingress_controller_requests', 'The total number of client requests', true);
    HISTOGRAMS.forEach((h, i) => h.nginx && histogram(i, `nginx_ingress_controller_${h.nginx.name}`, h.nginx.help, true));
    counter('portico_http_requests_total', 'Requests a route served (what nginx_ingress_controller_requests counts).', false);
    HISTOGRAMS.forEach((h, i) => h.portico && histogram(i, h.portico.name, h.portico.help, false));
    return `${out.join('\n')}\n`;
  }
}

/** ingress-nginx's upstream name of a Service port (`namespace-name-port`), its canary label's value. */
function upstreamName(service: string): string {
  const m = /^([^/]+)\/([^:]+):(.+)$/.exec(service);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : service;
}
