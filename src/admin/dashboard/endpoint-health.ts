// An endpoint's health for the dashboard, from what HAProxy's statistics say (backend-metrics.ts): Portico configures
// no health checks, so a pod that stopped answering stays "up" in HAProxy; what shows it is its failed attempts
// growing. An endpoint is red while HAProxy holds it in maintenance or while its failures grew lately.
import type { EndpointState } from '../backend-metrics.js';

export type Health = 'up' | 'down' | 'failing' | 'unknown';

interface Seen {
  up: boolean;
  failedAttempts: number;
  /** When its failed attempts last grew (ms since the epoch), 0 never. */
  failedAt: number;
}

/** `namespace/service:port address:port`: one endpoint of one Service port. */
export const endpointKey = (namespace: string, service: string, port: string, endpoint: string): string => `${namespace}/${service}:${port} ${endpoint}`;

export class EndpointHealth {
  private seen = new Map<string, Seen>();

  /** `failingForMs`: how long an endpoint stays red after its last failed attempt. */
  constructor(private readonly failingForMs: number) {}

  update(states: readonly EndpointState[], now: number): void {
    const next = new Map<string, Seen>();
    for (const s of states) {
      const key = endpointKey(s.name.namespace, s.name.service, s.name.port, s.name.endpoint);
      const before = this.seen.get(key);
      // First seen with failures already counted: they happened at some point before; only growth is news.
      const grew = before !== undefined && s.failedAttempts > before.failedAttempts;
      next.set(key, { up: s.up, failedAttempts: s.failedAttempts, failedAt: grew ? now : (before?.failedAt ?? 0) });
    }
    this.seen = next;
  }

  of(key: string, now: number): { health: Health; failedAttempts: number } {
    const s = this.seen.get(key);
    if (!s) return { health: 'unknown', failedAttempts: 0 };
    if (!s.up) return { health: 'down', failedAttempts: s.failedAttempts };
    if (s.failedAt > 0 && now - s.failedAt < this.failingForMs) return { health: 'failing', failedAttempts: s.failedAttempts };
    return { health: 'up', failedAttempts: s.failedAttempts };
  }
}
