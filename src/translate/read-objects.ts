// Objects that routes read by name (Secrets: basic authentication, client and backend certificates; ConfigMaps:
// custom-headers, auth-proxy-set-headers), and which host groups read which. A group's lookups are recorded when it is
// built, found or not, so a changed object rebuilds exactly the groups that asked for it, an object that appears
// later rebuilds the groups that were waiting for it, and a change to an object no group asked for costs no
// translation at all (every namespace's kube-root-ca.crt ConfigMap, say).
import type { Obj } from '../k8s/objects.js';
import { objectName } from '../k8s/objects.js';
import { IdentityTracker } from './identity-diff.js';

export class ReadObjects {
  private readonly objects = new Map<string, Obj>();
  private readonly tracker = new IdentityTracker<Obj>();
  /** Object key (namespace/name) -> the groups that read it, and each group's keys: both ways, so a rebuilt group
   * drops its old reads without a scan. */
  private readonly readers = new Map<string, Set<string>>();
  private readonly readsOf = new Map<string, Set<string>>();

  /** By namespace/name. */
  get all(): ReadonlyMap<string, Obj> {
    return this.objects;
  }

  /** Brings the objects up to date with a source's list; returns the keys added, changed or removed. Proportional to
   * the objects that changed (the list is compared by identity, IdentityTracker). */
  update(list: readonly Obj[]): Set<string> {
    const d = this.tracker.diff(list);
    const changed = new Set<string>();
    for (const o of d.removed) {
      const key = objectName(o, true);
      changed.add(key);
      if (this.objects.get(key) === o) this.objects.delete(key);
    }
    for (const o of d.added) {
      const key = objectName(o, true);
      changed.add(key);
      this.objects.set(key, o);
    }
    return changed;
  }

  /** The groups that read any of `keys`. */
  readersOf(keys: Iterable<string>): Set<string> {
    const out = new Set<string>();
    for (const k of keys) for (const g of this.readers.get(k) ?? []) out.add(g);
    return out;
  }

  /** A lookup for one group's build that records what it asks for; `done` files the reads under the group. */
  recorder(): { lookup: (key: string) => Obj | undefined; read: Set<string> } {
    const read = new Set<string>();
    return {
      read,
      lookup: (key) => {
        read.add(key);
        return this.objects.get(key);
      },
    };
  }

  /** The keys `group` read in its last build (none: it read nothing, or is gone). */
  record(group: string, read: ReadonlySet<string>): void {
    for (const k of this.readsOf.get(group) ?? []) {
      const users = this.readers.get(k);
      users?.delete(group);
      if (users?.size === 0) this.readers.delete(k);
    }
    if (read.size === 0) {
      this.readsOf.delete(group);
      return;
    }
    this.readsOf.set(group, new Set(read));
    for (const k of read) this.readers.set(k, (this.readers.get(k) ?? new Set<string>()).add(group));
  }
}
