// Fault injection: what a real control plane does to its clients on a bad day (watches cut cleanly or mid-chunk,
// watches that hang, 5xx and 429 answers, slow answers, write conflicts, expired continue tokens, compaction).
// Counted faults apply to the next matching requests; watch faults to the watches open now.
import type { ApiError } from './api-errors.js';
import { conflict, internalError, serviceUnavailable, tooManyRequests } from './api-errors.js';
import type { RequestInfo } from './request-info.js';
import type { WatchStream } from './watch.js';

export interface RequestFilter {
  /** Plural resource (`ingresses`: any subresource) or `resource/subresource` (`ingresses/status`: only that). */
  resource?: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb?: string;
}

interface Counted {
  remaining: number;
  filter: RequestFilter;
}

export function matches(f: RequestFilter, info: RequestInfo): boolean {
  if (f.verb !== undefined && f.verb !== info.verb) return false;
  if (f.resource === undefined) return true;
  if (f.resource.includes('/')) return f.resource === `${info.resource}/${info.subresource}`;
  return f.resource === info.resource;
}

function take<T extends Counted>(list: T[], info: RequestInfo): T | undefined {
  const hit = list.find((f) => f.remaining > 0 && matches(f.filter, info));
  if (hit) hit.remaining--;
  return hit;
}

export interface FaultHooks {
  watches(): Iterable<WatchStream>;
  compact(): void;
}

export class Faults {
  private failures: (Counted & { status: 500 | 429 | 503 })[] = [];
  private delays: (Counted & { ms: number })[] = [];
  private conflicts: Counted[] = [];
  private expiringContinues = 0;
  private stalling: (string | undefined)[] = [];

  constructor(private readonly hooks: FaultHooks) {}

  /** The next `n` matching requests fail with a Status body (429 also gets Retry-After: 1). */
  failNext(n: number, status: 500 | 429 | 503, filter: RequestFilter = {}): void {
    this.failures.push({ remaining: n, status, filter });
  }

  /** Matching requests wait `ms` before being handled: every one until clear(), or the next `times`. */
  delay(ms: number, filter: RequestFilter & { times?: number } = {}): void {
    const { times, ...f } = filter;
    this.delays.push({ remaining: times ?? Number.POSITIVE_INFINITY, ms, filter: f });
  }

  /** The next `n` matching updates or patches get 409 Conflict, as if someone else wrote first. */
  conflictNext(n: number, filter: RequestFilter = {}): void {
    this.conflicts.push({ remaining: n, filter });
  }

  /** The next request with a continue token gets 410 Expired, as after an etcd compaction. */
  expireContinue(): void {
    this.expiringContinues++;
  }

  /** Ends the open watches (of one resource, or all): a clean end of the chunked body, or a destroyed socket. */
  closeWatches(opts: { abrupt?: boolean; resource?: string } = {}): number {
    let n = 0;
    for (const w of [...this.hooks.watches()]) {
      if (opts.resource !== undefined && w.type.resource !== opts.resource) continue;
      w.end(opts.abrupt ?? false);
      n++;
    }
    return n;
  }

  /**
   * Open and future watches (of one resource, or all) go silent: no events, no bookmarks, no timeout end, until
   * released (the returned function, releaseWatches() or clear()); then what was held back is sent.
   */
  stallWatches(resource?: string): () => void {
    this.stalling.push(resource);
    for (const w of this.hooks.watches()) if (resource === undefined || w.type.resource === resource) w.stall();
    return () => this.releaseWatches(resource);
  }

  releaseWatches(resource?: string): void {
    this.stalling = resource === undefined ? [] : this.stalling.filter((r) => r !== resource);
    for (const w of this.hooks.watches()) if (!this.shouldStall(w.type.resource)) w.release();
  }

  /** Drops all watch history and list snapshots: older watches get the 410 ERROR event, older continue tokens 410. */
  compact(): void {
    this.hooks.compact();
  }

  clear(): void {
    this.failures = [];
    this.delays = [];
    this.conflicts = [];
    this.expiringContinues = 0;
    this.releaseWatches();
  }

  // --- used by the server ---

  takeFailure(info: RequestInfo): ApiError | undefined {
    const f = take(this.failures, info);
    if (!f) return undefined;
    if (f.status === 429) return tooManyRequests('Too many requests, please try again later.', 1);
    if (f.status === 503) return serviceUnavailable('the server is currently unable to handle the request');
    return internalError('injected fault');
  }

  delayFor(info: RequestInfo): number {
    return take(this.delays, info)?.ms ?? 0;
  }

  takeConflict(info: RequestInfo, group: string): ApiError | undefined {
    if (info.verb !== 'update' && info.verb !== 'patch') return undefined;
    return take(this.conflicts, info) ? conflict(group, info.resource, info.name) : undefined;
  }

  takeExpireContinue(): boolean {
    if (this.expiringContinues === 0) return false;
    this.expiringContinues--;
    return true;
  }

  shouldStall(resource: string): boolean {
    return this.stalling.some((r) => r === undefined || r === resource);
  }
}
