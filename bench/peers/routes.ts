/** What every peer is configured with: each host routed to all of `origins` (host:port), round robin. */
export interface Routes {
  hosts: string[];
  origins: string[];
}
