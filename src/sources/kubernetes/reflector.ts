// List+watch for one resource, client-go's reflector in miniature: paged list, watch from the list's
// resourceVersion with bookmarks, relist on 410, a deadline for silent watches, and capped jittered backoff on
// every error. The last known objects stay in place while the API is unreachable.
import type { Logger } from '../../log.js';
import { groupVersionPath } from '../../k8s/kinds.js';
import type { KindSpec } from '../../k8s/kinds.js';
import { isObject } from '../../k8s/objects.js';
import type { Obj } from '../../k8s/objects.js';
import { ApiError } from './client.js';
import type { KubeClient } from './client.js';

export interface ReflectorOptions {
  /** Restrict a namespaced resource to one namespace (--watch-namespace). */
  namespace?: string | undefined;
  pageSize: number;
  /** A watch that sends nothing (not even a bookmark) for this long is cut and restarted. */
  stallMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Told of watches started again and of lists after the first, for the metrics. */
  events?: ReflectorEvents | undefined;
}

export interface ReflectorEvents {
  /** A watch is started again: the last one `ended` (its timeout, the server closed it), `expired` (410) or failed. */
  watchRestarted(resource: string, reason: 'ended' | 'expired' | 'error'): void;
  relisted(resource: string): void;
}

class Expired extends Error {}

function metaOf(o: Obj): Obj {
  return isObject(o.metadata) ? o.metadata : {};
}

export function keyOf(o: Obj): string {
  const m = metaOf(o);
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${typeof m.name === 'string' ? m.name : ''}`;
}

function rvOf(o: Obj): string {
  const rv = metaOf(o).resourceVersion;
  return typeof rv === 'string' ? rv : '';
}

export class Reflector {
  readonly items = new Map<string, Obj>();
  /** Bumped whenever `items` changes: a snapshot reuses its list of this kind until then. */
  version = 0;
  private rv = '';
  private stopped = false;
  private failures = 0;
  private readonly abort = new AbortController();
  /** Aborts the watch running now, for a relist. */
  private watchAbort: AbortController | undefined;
  private relistRequested = false;
  /** Callers of relist() waiting for the next list to succeed. */
  private listWaiters: (() => void)[] = [];
  synced = false;

  constructor(
    private readonly client: KubeClient,
    readonly spec: KindSpec,
    private readonly o: ReflectorOptions,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  private get collection(): string {
    const ns = this.spec.namespaced && this.o.namespace ? `/namespaces/${encodeURIComponent(this.o.namespace)}` : '';
    return `${groupVersionPath(this.spec)}${ns}/${this.spec.resource}`;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /** Lists again now (SIGHUP), as after a 410; resolves once a list has succeeded. Failures are retried as usual. */
  relist(): Promise<void> {
    const done = new Promise<void>((resolve) => this.listWaiters.push(resolve));
    this.relistRequested = true;
    this.watchAbort?.abort();
    return done;
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (this.relistRequested) {
          this.relistRequested = false;
          needList = true; // until a list succeeds
        }
        if (needList) {
          await this.list();
          needList = false;
        }
        if (this.relistRequested) continue;
        const started = Date.now();
        await this.watch();
        this.o.events?.watchRestarted(this.spec.resource, 'ended');
        // A server that ends every watch at once would otherwise be hammered in a tight loop.
        if (Date.now() - started < 1000 && !this.relistRequested) await sleep(this.o.backoff.initialMs, this.abort.signal);
      } catch (e) {
        if (this.stopped) return;
        if (this.relistRequested) continue; // the watch was cut for a relist
        if (e instanceof Expired) {
          this.o.events?.watchRestarted(this.spec.resource, 'expired');
          this.log.info({ component: 'kubernetes', resource: this.spec.resource, rv: this.rv }, 'resourceVersion expired (410); relisting');
          needList = true;
          continue;
        }
        this.failures++;
        if (!needList) this.o.events?.watchRestarted(this.spec.resource, 'error');
        const delay = this.delay(e);
        this.log.warn({ component: 'kubernetes', resource: this.spec.resource, err: (e as Error).message, retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(delay, this.abort.signal);
      }
    }
  }

  /** Exponential backoff with full jitter in [delay/2, delay]; Retry-After (429) is honoured as a floor. */
  private delay(e: unknown): number {
    const base = Math.min(this.o.backoff.maxMs, this.o.backoff.initialMs * 2 ** Math.min(this.failures - 1, 16));
    const jittered = base / 2 + Math.random() * (base / 2);
    const retryAfter = e instanceof ApiError && e.status === 429 ? 1000 : 0;
    return Math.max(jittered, retryAfter);
  }

  private async list(): Promise<void> {
    const waiters = this.listWaiters;
    this.listWaiters = [];
    try {
      await this.listPages();
    } catch (e) {
      this.listWaiters.unshift(...waiters); // served by the next list that succeeds
      throw e;
    }
    for (const w of waiters) w();
  }

  /** A failed list changes nothing: the items last listed stay until a list succeeds. */
  private async listPages(): Promise<void> {
    const items = new Map<string, Obj>();
    let cont = '';
    let rv = '';
    for (;;) {
      const q = new URLSearchParams({ limit: String(this.o.pageSize) });
      if (cont) q.set('continue', cont);
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
      try {
        page = await this.client.request('GET', `${this.collection}?${q.toString()}`);
      } catch (e) {
        // An expired continue token: the snapshot it pointed into is gone; start the list over.
        if (cont && e instanceof ApiError && e.status === 410) {
          items.clear();
          cont = '';
          continue;
        }
        throw e;
      }
      for (const it of page.items ?? []) if (isObject(it)) items.set(keyOf(it), this.kept(it));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue ?? '';
      if (!cont) break;
    }
    if (this.synced) this.o.events?.relisted(this.spec.resource);
    this.items.clear();
    for (const [k, v] of items) this.items.set(k, v);
    this.rv = rv;
    this.synced = true;
    this.failures = 0;
    this.version++;
    this.onChange();
  }

  /** What of an object this kind keeps (KindSpec.retain): a ConfigMap's data, not its annotations or binaryData. */
  private kept(o: Obj): Obj {
    return this.spec.retain ? this.spec.retain(o) : o;
  }

  private async watch(): Promise<void> {
    // client-go picks a timeout between 5 and 10 minutes so that watches of many clients do not end together.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', resourceVersion: this.rv, timeoutSeconds: String(timeoutSeconds) });
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    this.watchAbort = ac;
    try {
      await this.client.watch(`${this.collection}?${q.toString()}`, (e) => this.apply(e), this.o.stallMs, ac.signal);
    } finally {
      this.watchAbort = undefined;
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private apply(e: unknown): void {
    if (!isObject(e) || typeof e.type !== 'string' || !isObject(e.object)) throw new Error('malformed watch event');
    const obj = e.object;
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = keyOf(obj);
        const prev = this.items.get(key);
        this.rv = rvOf(obj) || this.rv;
        if (prev && rvOf(prev) === rvOf(obj)) return; // a replay: already applied
        const { kind: _k, apiVersion: _a, ...rest } = obj; // list items carry neither: keep both forms alike
        this.items.set(key, this.kept(rest));
        break;
      }
      case 'DELETED':
        this.rv = rvOf(obj) || this.rv;
        if (!this.items.delete(keyOf(obj))) return;
        break;
      case 'BOOKMARK':
        this.rv = rvOf(obj) || this.rv;
        return;
      case 'ERROR': {
        const code = typeof obj.code === 'number' ? obj.code : 0;
        const text = (v: unknown): string => (typeof v === 'string' ? v : '');
        if (code === 410) throw new Expired(text(obj.message) || 'expired');
        throw new ApiError(code, text(obj.reason), `watch ERROR event: ${text(obj.message)}`);
      }
      default:
        throw new Error(`unknown watch event type ${e.type}`);
    }
    this.failures = 0;
    this.version++;
    this.onChange();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
