// What a data-plane section needs from a proxy under test, whatever it is.
export interface Peer {
  /** Short label used in tables: portico, haproxy, nginx, undici. */
  name: string;
  httpPort: number;
  httpsPort: number;
  /** Whether the HTTPS listener offers h2 through ALPN. */
  h2: boolean;
  /** CPU time of the processes that carry traffic (HAProxy, nginx workers, the Node proxy), microseconds. */
  proxyCpuMicros(): number;
  /** CPU time of a control plane running beside the proxy on the same core (Portico's Node process), else 0. */
  controlCpuMicros(): number;
  /** Resident memory of the traffic-carrying processes, summed, in kB. */
  proxyRssKb(): number;
  /** Facts worth recording with the results (thread count, versions). */
  info: Record<string, string | number>;
  stop(): Promise<void>;
}
