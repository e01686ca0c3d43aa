// What a data-plane section needs from a proxy under test, whatever it is.
import type { Child } from '../lib/processes.js';
import { treeCpuMicros, treeRssKb } from '../lib/proc-stats.js';

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

/** A standalone proxy peer: one child process tree carries the traffic and there is no control plane beside it. */
export function processPeer(o: { name: string; httpPort: number; httpsPort: number; h2: boolean; child: Child; info: Record<string, string | number> }): Peer {
  return {
    name: o.name,
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    h2: o.h2,
    proxyCpuMicros: () => treeCpuMicros(o.child.pid),
    proxyRssKb: () => treeRssKb(o.child.pid),
    controlCpuMicros: () => 0,
    info: o.info,
    stop: () => o.child.stop(),
  };
}
