// Request rate, error rate and latency per key (a host group, an Ingress) over the last minute, for the dashboard.
// Fed every access-log record, so the work per record is constant: one map lookup, at most one bucket cleared, a
// handful of additions. Memory is bounded whatever the traffic: a fixed ring of buckets per key, and at most
// `maxKeys` keys, the one seen least recently making room for a new one (keys come from the live model's hosts and
// Ingresses, never from what a client sends, so the bound only matters for a model bigger than it).

/** Upper bounds (ms) of the latency histogram's bins; the last bin takes everything slower. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
const BINS = LATENCY_BOUNDS_MS.length + 1;
const [COUNT, ERRORS, LATENCY_SUM, LATENCY_COUNT, FIRST_BIN] = [0, 1, 2, 3, 4];
const FIELDS = FIRST_BIN + BINS;

export interface WindowOptions {
  bucketMs: number;
  buckets: number;
  maxKeys: number;
  now?: () => number;
}

export interface TrafficSummary {
  /** Requests in the window. */
  requests: number;
  /** Requests per second over the window (or over the time since the first bucket, when less). */
  rate: number;
  /** Share of the requests answered 5xx, 0..1. */
  errorRate: number;
  /** Mean and 95th percentile (upper bound of its bin) of the request's total time, ms; -1 without data. */
  latencyMeanMs: number;
  latencyP95Ms: number;
}

interface Ring {
  /** The bucket number (time / bucketMs) each slot holds. */
  epochs: Float64Array;
  values: Float64Array;
  firstEpoch: number;
}

export const NO_TRAFFIC: TrafficSummary = { requests: 0, rate: 0, errorRate: 0, latencyMeanMs: -1, latencyP95Ms: -1 };

export class TrafficWindow {
  private readonly rings = new Map<string, Ring>();
  private readonly now: () => number;

  constructor(private readonly o: WindowOptions) {
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.rings.size;
  }

  record(key: string, status: number, totalMs: number): void {
    const epoch = Math.floor(this.now() / this.o.bucketMs);
    let ring = this.rings.get(key);
    if (ring) {
      // Most recently seen last: the first key in the map is the one to drop when full.
      this.rings.delete(key);
    } else {
      if (this.rings.size >= this.o.maxKeys) this.rings.delete(this.rings.keys().next().value!);
      ring = { epochs: new Float64Array(this.o.buckets).fill(-1), values: new Float64Array(this.o.buckets * FIELDS), firstEpoch: epoch };
    }
    this.rings.set(key, ring);
    const slot = epoch % this.o.buckets;
    const base = slot * FIELDS;
    if (ring.epochs[slot] !== epoch) {
      ring.epochs[slot] = epoch;
      ring.values.fill(0, base, base + FIELDS);
    }
    const v = ring.values;
    v[base + COUNT]!++;
    if (status >= 500) v[base + ERRORS]!++;
    if (totalMs >= 0) {
      v[base + LATENCY_SUM]! += totalMs;
      v[base + LATENCY_COUNT]!++;
      let bin = 0;
      while (bin < LATENCY_BOUNDS_MS.length && totalMs > LATENCY_BOUNDS_MS[bin]!) bin++;
      v[base + FIRST_BIN + bin]!++;
    }
  }

  summary(key: string): TrafficSummary {
    const ring = this.rings.get(key);
    if (!ring) return NO_TRAFFIC;
    const nowMs = this.now();
    const epoch = Math.floor(nowMs / this.o.bucketMs);
    const oldest = epoch - this.o.buckets + 1;
    const sums = new Float64Array(FIELDS);
    for (let slot = 0; slot < this.o.buckets; slot++) {
      const e = ring.epochs[slot]!;
      if (e < oldest || e > epoch) continue;
      for (let f = 0; f < FIELDS; f++) sums[f]! += ring.values[slot * FIELDS + f]!;
    }
    const requests = sums[COUNT]!;
    if (requests === 0) return NO_TRAFFIC;
    // The window is as long as the buckets it covers, the current one only as far as it has gone.
    const start = Math.max(oldest, ring.firstEpoch) * this.o.bucketMs;
    const seconds = Math.max(1, (nowMs - start) / 1000);
    const latencyCount = sums[LATENCY_COUNT]!;
    return {
      requests,
      rate: requests / seconds,
      errorRate: sums[ERRORS]! / requests,
      latencyMeanMs: latencyCount > 0 ? sums[LATENCY_SUM]! / latencyCount : -1,
      latencyP95Ms: latencyCount > 0 ? percentileBound(sums, latencyCount, 0.95) : -1,
    };
  }

  /** Keys with requests in the window drop out once they have none: what is left is what was seen lately. */
  prune(): void {
    const oldest = Math.floor(this.now() / this.o.bucketMs) - this.o.buckets + 1;
    for (const [key, ring] of this.rings) if (!ring.epochs.some((e) => e >= oldest)) this.rings.delete(key);
  }
}

/** The upper bound of the bin holding quantile q; past the last bound, that bound doubled (an honest "more than"). */
function percentileBound(sums: Float64Array, count: number, q: number): number {
  const target = Math.ceil(q * count);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += sums[FIRST_BIN + bin]!;
    if (seen >= target) return bin < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[bin]! : LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]! * 2;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]! * 2;
}
