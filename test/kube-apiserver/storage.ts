// The store behind every request and test helper: one global resourceVersion counter (etcd's revision), objects
// per type, and per type a bounded event history playing the part of the apiserver's watch cache
// (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go). List snapshots stand in for etcd's MVCC reads at
// an old revision, which is what makes `continue` tokens consistent.
import { expired } from './api-errors.js';
import type { ResourceType } from './resources.js';
import { typeKey } from './resources.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: EventType;
  rv: number;
  key: string;
  /** The object after the change; for DELETED, its last state carrying the deletion's resourceVersion. */
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED): lets a selector-filtered watch turn updates into ADDED/DELETED. */
  prev?: KubeObject;
}

export type Listener = (e: StoredEvent) => void;

interface TypeState {
  objects: Map<string, KubeObject>;
  history: StoredEvent[];
  /**
   * watch_cache.go's `oldest`: a watch from resourceVersion R is answered 410 when R < oldest-1. Starts at 1 (nothing
   * evicted: any RV is fine), becomes the RV of the oldest kept event once events are evicted.
   */
  oldest: number;
  listeners: Set<Listener>;
}

export interface Snapshot {
  rv: number;
  /** [key, object], sorted by key as etcd orders them. */
  items: [string, KubeObject][];
}

const MAX_SNAPSHOTS = 64;

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class Storage {
  private rv: number;
  private readonly types = new Map<string, TypeState>();
  private readonly snapshots = new Map<string, Snapshot>();
  /** `oldest` of a type first touched now: 1 (any resourceVersion) until a restart rebuilt the watch cache. */
  private oldestFloor = 1;

  constructor(
    private readonly historyLimit: number,
    initialResourceVersion = 1,
  ) {
    this.rv = initialResourceVersion;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  private state(t: ResourceType): TypeState {
    const k = typeKey(t);
    let s = this.types.get(k);
    if (!s) {
      s = { objects: new Map(), history: [], oldest: this.oldestFloor, listeners: new Set() };
      this.types.set(k, s);
    }
    return s;
  }

  /** The stored object itself: callers must not change it (everything handed out of the server is cloned). */
  peek(t: ResourceType, key: string): KubeObject | undefined {
    return this.state(t).objects.get(key);
  }

  /** Current objects sorted by key; a prefix restricts to one namespace (`ns/`). */
  items(t: ResourceType, prefix = ''): [string, KubeObject][] {
    const out: [string, KubeObject][] = [];
    for (const e of this.state(t).objects) if (e[0].startsWith(prefix)) out.push(e);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Writes a new or changed object: it gets the next resourceVersion, and watchers hear about it. */
  put(t: ResourceType, key: string, obj: KubeObject): KubeObject {
    const s = this.state(t);
    const prev = s.objects.get(key);
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    s.objects.set(key, stored);
    this.record(s, { type: prev ? 'MODIFIED' : 'ADDED', rv: this.rv, key, object: stored, ...(prev ? { prev } : {}) });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries its last state with the deletion's resourceVersion, as etcd3's watcher does. */
  remove(t: ResourceType, key: string): KubeObject | undefined {
    const s = this.state(t);
    const prev = s.objects.get(key);
    if (!prev) return undefined;
    s.objects.delete(key);
    const last = clone(prev);
    last.metadata.resourceVersion = String(++this.rv);
    this.record(s, { type: 'DELETED', rv: this.rv, key, object: last, prev });
    return clone(last);
  }

  private record(s: TypeState, e: StoredEvent): void {
    s.history.push(e);
    while (s.history.length > this.historyLimit) {
      const evicted = s.history.shift();
      s.oldest = s.history[0]?.rv ?? (evicted ? evicted.rv + 1 : s.oldest);
    }
    for (const l of [...s.listeners]) l(e);
  }

  /**
   * Events strictly after `rv`, or the watch cache's 410: "too old resource version: R (oldest-1)".
   * (watch_cache.go getAllEventsSinceLocked)
   */
  eventsSince(t: ResourceType, rv: number): StoredEvent[] {
    const s = this.state(t);
    if (rv < s.oldest - 1) throw expired(`too old resource version: ${rv} (${s.oldest - 1})`);
    return s.history.filter((e) => e.rv > rv);
  }

  subscribe(t: ResourceType, l: Listener): () => void {
    const s = this.state(t);
    s.listeners.add(l);
    return () => s.listeners.delete(l);
  }

  /** Like an etcd compaction plus a watch cache that lost its window: old watches get 410, old continue tokens too. */
  compact(): void {
    for (const s of this.types.values()) {
      s.history = [];
      s.oldest = this.rv + 1;
    }
    this.snapshots.clear();
  }

  /**
   * What an API server restart does to the watch cache: it is rebuilt from a list at the current revision, so no
   * history survives and a watch from any older resourceVersion gets 410 (watch_cache.go: `oldest` is the list's
   * resourceVersion + 1 until an event is evicted). etcd keeps its revisions: list snapshots, hence continue tokens,
   * survive.
   */
  restartWatchCache(): void {
    this.oldestFloor = this.rv + 1;
    for (const s of this.types.values()) {
      s.history = [];
      s.oldest = this.rv + 1;
    }
  }

  saveSnapshot(t: ResourceType, snap: Snapshot): void {
    const k = `${typeKey(t)}@${snap.rv}`;
    this.snapshots.delete(k);
    this.snapshots.set(k, snap);
    while (this.snapshots.size > MAX_SNAPSHOTS) {
      const first = this.snapshots.keys().next();
      if (first.done) break;
      this.snapshots.delete(first.value);
    }
  }

  /**
   * The objects of a type as they were at `rv`, as etcd serves a read at an old revision: from a saved list snapshot,
   * or by undoing the kept history; undefined once that history is gone (compacted).
   */
  stateAt(t: ResourceType, rv: number): Snapshot | undefined {
    if (rv === this.rv) return { rv, items: this.items(t) };
    const saved = this.snapshots.get(`${typeKey(t)}@${rv}`);
    if (saved) return saved;
    const s = this.state(t);
    if (rv > this.rv || rv < s.oldest - 1) return undefined;
    const objects = new Map(s.objects);
    for (let i = s.history.length - 1; i >= 0; i--) {
      const e = s.history[i];
      if (!e || e.rv <= rv) break;
      if (e.type === 'ADDED') objects.delete(e.key);
      else if (e.prev) objects.set(e.key, e.prev);
    }
    const items = [...objects].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { rv, items };
  }
}
