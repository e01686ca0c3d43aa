// Knobs of a run. Quick mode is a smoke test of the whole harness (about two minutes), not a measurement.

export interface Settings {
  quick: boolean;
  /** CPU the proxy under test runs on, and the one wrk and the origin share. */
  proxyCpus: string;
  loadCpus: string;
  dataPlane: {
    scales: number[];
    connections: number[];
    warmupS: number;
    durationS: number;
    /** Hosts the load rotates over, spread across the configured ones. */
    hotHosts: number;
    h2: { connections: number; streams: number };
    /** Longest wait for a quiet machine before a cell (the machine is shared). */
    quietMaxWaitMs: number;
  };
  /** `sizes`: manifest-file changes; `apiSizes`: the same changes through the Kubernetes API (stand-in server). */
  convergence: { sizes: number[]; apiSizes: number[]; repetitions: number; pollIntervalMs: number; timeoutMs: number };
  scale: { ingresses: number; endpointsPerService: number; runs: number };
  /** Interleaved A/B rounds of CPU per request (sections/cpu-ab.ts): every peer once per round, one round after
   * another, so that a slow minute of the shared machine falls on all peers alike. */
  cpuAb: { rounds: number; connections: number; warmupS: number; durationS: number };
  /** Requests in the short and the long callgrind run; their difference is what is counted. 2,000 requests apart,
   * counts of the same configuration stay within about 0.3% of each other (about 200 instructions), so that a rule
   * of a few hundred shows; the CI guard (test/perf/instructions.test.ts) uses the same numbers. */
  instructions: { requests: [number, number] };
}

export function settings(quick: boolean): Settings {
  return {
    quick,
    proxyCpus: '0',
    loadCpus: '1',
    dataPlane: {
      scales: [1, 10_000],
      connections: quick ? [64] : [1, 64, 256],
      warmupS: quick ? 1 : 2,
      durationS: quick ? 2 : 5,
      hotHosts: 100,
      h2: { connections: 64, streams: 4 },
      quietMaxWaitMs: quick ? 3_000 : 15_000,
    },
    convergence: { sizes: [10, 1_000, 10_000], apiSizes: [10, 1_000, 10_000], repetitions: quick ? 2 : 20, pollIntervalMs: 1, timeoutMs: 30_000 },
    scale: { ingresses: 10_000, endpointsPerService: 5, runs: quick ? 1 : 3 },
    cpuAb: { rounds: quick ? 2 : 7, connections: 64, warmupS: 1, durationS: quick ? 1 : 3 },
    instructions: { requests: quick ? [50, 250] : [200, 2200] },
  };
}
