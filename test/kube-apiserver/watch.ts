// A watch: newline-delimited JSON events over a chunked 200 response, as the apiserver's watch handler writes them
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go), fed the way the cacher feeds one
// (staging/src/k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go): initial state or history replay, then live
// events filtered by selectors (an object leaving the selection is DELETED, entering it is ADDED), bookmarks, and a
// clean end at the timeout.
import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-errors.js';
import type { ResourceType } from './resources.js';
import { apiVersionOf } from './resources.js';
import type { FieldSelector, LabelSelector } from './selectors.js';
import type { EventType, Storage, StoredEvent } from './storage.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';

export type WatchEventType = EventType | 'BOOKMARK' | 'ERROR';

export interface WatchOptions {
  namespace?: string;
  label: LabelSelector;
  field: FieldSelector;
  /** "" and "0": start with synthetic ADDED events for the current state. */
  resourceVersion: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutMs: number;
  bookmarkIntervalMs: number;
  /** What goes on the wire for an object: itself, or a Table for `kubectl get -w`. */
  render(o: KubeObject): unknown;
}

export class WatchStream {
  private stalled = false;
  private queued: string[] = [];
  private ended = false;
  private deadlinePassed = false;
  private unsubscribe: () => void = () => {};
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly type: ResourceType,
    private readonly res: ServerResponse,
    private readonly storage: Storage,
    private readonly o: WatchOptions,
    private readonly onEnd: (w: WatchStream) => void,
  ) {}

  /** Writes the head, the replay and subscribes. Must run synchronously with storage so no event slips between. */
  start(): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // The client learns the watch is established from the head; without this Node holds it until the first event.
    this.res.flushHeaders();
    this.res.on('close', () => this.finish());

    if (this.o.resourceVersion === '' || this.o.resourceVersion === '0' || this.o.sendInitialEvents) {
      for (const [, obj] of this.storage.items(this.type)) if (this.passes(obj)) this.emit('ADDED', obj);
      // The WatchList protocol: a bookmark marks the end of the initial state.
      if (this.o.sendInitialEvents && this.o.allowBookmarks) this.bookmark(true);
    } else {
      let replay: StoredEvent[];
      try {
        replay = this.storage.eventsSince(this.type, Number(this.o.resourceVersion));
      } catch (e) {
        // Past authn, authz and parameter parsing, a too-old resourceVersion is an ERROR event, not an HTTP error.
        this.write('ERROR', (e as ApiError).status);
        this.end(false);
        return;
      }
      for (const e of replay) this.deliver(e);
    }
    this.unsubscribe = this.storage.subscribe(this.type, (e) => this.deliver(e));
    if (this.o.allowBookmarks && this.o.bookmarkIntervalMs > 0) {
      const t = setInterval(() => {
        if (!this.stalled) this.bookmark(false);
      }, this.o.bookmarkIntervalMs);
      this.timers.push(t);
    }
    this.timers.push(setTimeout(() => this.timeout(), this.o.timeoutMs));
  }

  private passes(o: KubeObject): boolean {
    if (this.type.namespaced && this.o.namespace && o.metadata.namespace !== this.o.namespace) return false;
    return this.o.label.matches(o.metadata.labels) && this.o.field.matches(o);
  }

  /** cache_watcher.go convertToWatchEvent. */
  private deliver(e: StoredEvent): void {
    const cur = e.type !== 'DELETED' && this.passes(e.object);
    const old = e.prev !== undefined && this.passes(e.prev);
    if (cur && old) this.emit('MODIFIED', e.object);
    else if (cur) this.emit('ADDED', e.object);
    else if (old) {
      const last = clone(e.type === 'DELETED' ? e.object : (e.prev as KubeObject));
      last.metadata.resourceVersion = String(e.rv);
      this.emit('DELETED', last);
    }
  }

  private emit(type: EventType, obj: KubeObject): void {
    this.write(type, this.o.render(obj));
  }

  private bookmark(initialEventsEnd: boolean): void {
    // Go encodes the zero metav1.Time as null, hence creationTimestamp: null on the wire.
    const metadata: Record<string, unknown> = { resourceVersion: String(this.storage.resourceVersion), creationTimestamp: null };
    if (initialEventsEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    this.write('BOOKMARK', { kind: this.type.kind, apiVersion: apiVersionOf(this.type), metadata });
  }

  private write(type: WatchEventType, object: unknown): void {
    if (this.ended) return;
    const line = JSON.stringify({ type, object }) + '\n';
    if (this.stalled) this.queued.push(line);
    else this.res.write(line);
  }

  private timeout(): void {
    this.deadlinePassed = true;
    if (this.stalled) return;
    // The cacher sends a bookmark just before the deadline so the client can resume from as late as possible.
    if (this.o.allowBookmarks) this.bookmark(false);
    this.end(false);
  }

  /** Keeps the connection open but silent: no events, no bookmarks, not even the timeout's end. */
  stall(): void {
    this.stalled = true;
  }

  release(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const line of this.queued.splice(0)) if (!this.ended) this.res.write(line);
    if (this.deadlinePassed) this.timeout();
  }

  /** A clean end of the chunked body, or a destroyed socket (no terminating chunk). */
  end(abrupt: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (abrupt) this.res.destroy();
    else this.res.end();
    this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    this.onEnd(this);
  }
}
