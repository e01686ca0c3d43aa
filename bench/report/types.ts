// The shape of bench/results/<timestamp>.json.

export interface Target {
  /** Human-readable: ">= 0.95x hand-written HAProxy", "<= 50 ms". */
  want: string;
  pass: boolean;
}

export interface DataPlaneRow {
  scale: number;
  /** http, https (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS). */
  protocol: 'http' | 'https' | 'h2';
  connections: number;
  /** Concurrent streams per connection (h2 only; 1 otherwise). */
  streams: number;
  peer: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU time per request. */
  cpuUsPerRequest: number;
  /** Control-plane CPU time per request on the same core (Portico's Node process). */
  controlCpuUsPerRequest: number;
  errors: number;
  /** Share of wall time the proxy (and its control plane) ran: near 100% means the proxy was the bottleneck. */
  proxyCoreBusy: number;
  /** Share of the proxy core's time used by other processes during the cell (this machine is shared). */
  otherLoadOnProxyCore: number;
  /** rps / hand-written HAProxy's rps in the same cell. */
  ratio?: number;
  /** Proxy CPU per request / hand-written HAProxy's. */
  cpuRatio?: number;
  target?: Target;
}

export interface ConvergenceRow {
  ingresses: number;
  /** How the change was made: a manifest file renamed into place, or a write to the Kubernetes API. */
  source: 'file' | 'api';
  change: 'endpoint' | 'new-ingress' | 'certificate' | 'annotation';
  samples: number;
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Changes that caused an HAProxy reload / a runtime-API update, per Portico's own counters. */
  reloads: number;
  runtimeUpdates: number;
  target?: Target;
}

export interface ScaleRow {
  ingresses: number;
  /** The annotations the fleet carries, when it carries any (issue 11's realistic mix). */
  annotations?: string;
  endpoints: number;
  runs: number;
  readyMs: number[];
  /** Portico's Node process, after ready and a short settle. */
  porticoRssMb: number;
  porticoPeakRssMb: number;
  /** All HAProxy processes (master and worker), summed. */
  haproxyRssMb: number;
  targets: { ready: Target; rss: Target };
}

export interface InstructionsRow {
  config: 'haproxy' | 'haproxy + X9 required headers' | 'haproxy + the headers Portico sends' | 'portico' | 'portico, access log off' | 'portico, its ring read';
  /** HAProxy's user-space instructions per HTTP request (callgrind), start-up excluded. */
  perRequest: number;
  /** perRequest / the minimal hand-written configuration's. */
  ratio?: number;
  /** The throughput ratio to the minimal configuration this implies on a full proxy core: user time scaled by
   * `ratio`, kernel time (sockets, the same for all) unchanged. */
  impliedThroughputRatio?: number;
}

/** What one family of Portico's per-request rules costs: its configuration with and without the family. */
export interface RuleCostRow {
  /** A family of bench/peers/portico-rule-families.ts, or `edge`: all the edge families at once. */
  family: string;
  label: string;
  /** Instructions per request without the family. */
  without: number;
  /** Portico's count minus `without`. */
  cost: number;
  /** Counted with a new connection for every request rather than on one kept-alive connection. */
  connectionPerRequest: boolean;
  /** Portico's own count in this mode, when it is not the kept-alive one of the configuration rows. */
  full?: number;
}

/** One annotation family, counted in a configuration of two Ingresses where the second carries its annotations. */
export interface FeatureCostRow {
  family: string;
  annotations: Record<string, string>;
  /** A plain route's count with the family's rules in the configuration (another route uses it). */
  plainBeside: number;
  /** The count of a request on the route that uses the family. */
  using: number;
}

export interface InstructionsResult {
  rows: InstructionsRow[];
  /** Share of the minimal hand-written HAProxy's CPU time spent in user space (wrk, 64 connections, this run). */
  userShare: number;
  /** The data-plane target the implied ratios are read against. */
  target: number;
  ruleCosts?: RuleCostRow[];
  /** Issue 11: what each annotation family costs a route that uses it, and a plain route beside it. */
  featureCosts?: FeatureCostRow[];
  /** Issue 10's budget: the edge rules together add at most `budget` (a share) to a plain request's count. */
  edgeBudget?: { full: number; withoutEdge: number; added: number; budget: number; pass: boolean };
}

/** One peer's turn in one round of the interleaved CPU comparison. */
export interface CpuAbCell {
  round: number;
  protocol: 'http' | 'https';
  peer: string;
  requests: number;
  rps: number;
  /** Proxy CPU time (utime + stime of its processes) per request. */
  cpuUsPerRequest: number;
  /** The control plane's CPU time per request (Portico's Node process, which reads and writes every access log line;
   * 0 for the hand-written peers). Absent in results from before it was measured. */
  controlCpuUsPerRequest?: number;
  otherLoadOnProxyCore: number;
  errors: number;
}

/** Portico's CPU per request over a peer's, one ratio per round (rounds with errors left out). */
export interface CpuAbRatio {
  protocol: 'http' | 'https';
  versus: string;
  perRound: number[];
  median: number;
  min: number;
  max: number;
}

export interface CpuAbResult {
  connections: number;
  rounds: number;
  warmupS: number;
  durationS: number;
  peers: string[];
  cells: CpuAbCell[];
  ratios: CpuAbRatio[];
  /** Thread counts and versions of the peers, as the data-plane section records them. */
  info: Record<string, Record<string, string | number>>;
}

export interface Results {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; kernel: string; node: string; haproxy: string; nginx: string; commit: string };
  peers: Record<string, Record<string, string | number>>;
  dataPlane: DataPlaneRow[];
  convergence: ConvergenceRow[];
  scale: ScaleRow[];
  instructions?: InstructionsResult;
  cpuAb?: CpuAbResult;
  notes: string[];
}
