// The per-request traffic series dashboards built for ingress-nginx read (its socket collector's
// nginx_ingress_controller_requests and histograms: same names, types, labels, buckets and help), and the same data
// under Portico's names, built from the access log's records (src/accesslog/): HAProxy writes each request's line
// anyway, so the series cost the data plane nothing more. Labels are bounded whatever clients send: the path is the
// Ingress path of the route that served (never the request's), the host is the route's host (its group key) and
// only with --metrics-per-host, a method outside HTTP's registered ones is OTHER, and a request no route served
// (HAProxy's own 404 or 400) is counted in no series, as ingress-nginx skips hosts no Ingress defines.
import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RequestRecord } from '../accesslog/index.js';
import type { RouteLookup } from '../explain/lookup.js';

/** prometheus.DefBuckets, LinearBuckets(10, 10, 10), ExponentialBuckets(10, 10, 7): ingress-nginx's defaults. */
const TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LENGTH_BUCKETS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
const SIZE_BUCKETS = [10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000];

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const TAGS = ['status', 'method', 'path', 'namespace', 'ingress', 'service', 'canary'] as const;

type Tag = (typeof TAGS)[number] | 'host';
type Labels = Partial<Record<Tag, string>>;

export interface TrafficOptions {
  registry: Registry;
  /** ingress-nginx's constant labels (controller_namespace, controller_class, controller_pod) on its names. */
  constLabels: Record<string, string>;
  perHost: boolean;
  /** The route that served a record's Host and path (RequestRoutes). */
  route: (host: string, path: string) => RouteLookup | undefined;
}

interface Family {
  requests: Counter<string>;
  duration: Histogram<string>;
  connect: Histogram<string>;
  header: Histogram<string>;
  response: Histogram<string>;
  requestSize: Histogram<string>;
  responseSize: Histogram<string>;
}

export class TrafficMetrics {
  private readonly nginx: Family & { bytesSent: Histogram<string> };
  private readonly portico: Family;

  constructor(private readonly o: TrafficOptions) {
    const labelNames: Tag[] = [...TAGS, ...(o.perHost ? (['host'] as const) : [])];
    const registers = [o.registry];
    const n = (name: string): string => `nginx_ingress_controller_${name}`;
    const c = o.constLabels;
    // prom-client has no constant labels per metric: ingress-nginx's (controller_*) are labels set on every observation.
    const nginxLabelNames = [...labelNames, ...Object.keys(c)];
    const hist = (name: string, help: string, buckets: number[], names: string[] = labelNames): Histogram<string> => new Histogram({ name, help, buckets, labelNames: names, registers });
    this.nginx = {
      requests: new Counter({ name: n('requests'), help: 'The total number of client requests', labelNames: nginxLabelNames, registers }),
      duration: hist(n('request_duration_seconds'), 'The request processing time in milliseconds', TIME_BUCKETS, nginxLabelNames),
      connect: hist(n('connect_duration_seconds'), 'The time spent on establishing a connection with the upstream server', TIME_BUCKETS, nginxLabelNames),
      header: hist(n('header_duration_seconds'), 'The time spent on receiving first header from the upstream server', TIME_BUCKETS, nginxLabelNames),
      response: hist(n('response_duration_seconds'), 'The time spent on receiving the response from the upstream server', TIME_BUCKETS, nginxLabelNames),
      requestSize: hist(n('request_size'), 'The request length (including request line, header, and request body)', LENGTH_BUCKETS, nginxLabelNames),
      responseSize: hist(n('response_size'), 'The response length (including request line, header, and request body)', LENGTH_BUCKETS, nginxLabelNames),
      bytesSent: hist(n('bytes_sent'), 'DEPRECATED The number of bytes sent to a client', SIZE_BUCKETS, nginxLabelNames),
    };
    this.portico = {
      requests: new Counter({ name: 'portico_http_requests_total', help: 'Requests a route served (what nginx_ingress_controller_requests counts).', labelNames, registers }),
      duration: hist('portico_http_request_duration_seconds', "From a request's first byte to its response's last (HAProxy's %Ta, nginx's $request_time).", TIME_BUCKETS),
      connect: hist('portico_http_upstream_connect_duration_seconds', 'Time to connect to the endpoint (HAProxy %Tc).', TIME_BUCKETS),
      header: hist('portico_http_upstream_header_duration_seconds', "Time until the endpoint's response headers (HAProxy %Tr).", TIME_BUCKETS),
      response: hist('portico_http_upstream_response_duration_seconds', "Time until the endpoint's response ended (HAProxy %Tr + %Td).", TIME_BUCKETS),
      requestSize: hist('portico_http_request_size_bytes', 'Bytes read from the client for the request, headers included.', SIZE_BUCKETS),
      responseSize: hist('portico_http_response_size_bytes', 'Bytes sent to the client, headers included.', SIZE_BUCKETS),
    };
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
    const nl: Record<string, string> = { ...l, ...this.o.constLabels };
    const seconds = (ms: number): number => ms / 1000;
    this.nginx.requests.inc(nl);
    this.portico.requests.inc(l);
    const both = (f: keyof Family, value: number): void => {
      (this.nginx[f] as Histogram<string>).observe(nl, value);
      (this.portico[f] as Histogram<string>).observe(l, value);
    };
    if (r.totalMs >= 0) both('duration', seconds(r.totalMs));
    if (r.connectMs >= 0) both('connect', seconds(r.connectMs));
    if (r.responseMs >= 0) {
      both('header', seconds(r.responseMs));
      both('response', seconds(r.responseMs + Math.max(0, r.dataMs)));
    }
    if (r.bytesIn >= 0) both('requestSize', r.bytesIn);
    if (r.bytesOut >= 0) {
      both('responseSize', r.bytesOut);
      this.nginx.bytesSent.observe(nl, r.bytesOut);
    }
  }
}

/** ingress-nginx's upstream name of a Service port (`namespace-name-port`), its canary label's value. */
function upstreamName(service: string): string {
  const m = /^([^/]+)\/([^:]+):(.+)$/.exec(service);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : service;
}
