// The object store: the latest object of each kind by namespace/name, whichever source filled it.
import { KINDS, KIND_FIELDS, emptySnapshot, keyOf, kindFieldOf, perKind } from '../k8s/kinds.js';
import type { KindField, KindSpec, Snapshot } from '../k8s/kinds.js';
import { metadataOf } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';

/** The key of an object Portico reads, unique across kinds: `Kind/namespace/name` or `Kind/name`. */
function objectKey(field: KindField, o: Obj): string {
  return `${KINDS[field].kind}/${keyOf(field, o)}`;
}

export interface Duplicate {
  key: string;
  kept: string;
  ignored: string;
}

interface Entry {
  key: string;
  field: KindField;
  obj: Obj;
}

interface FileEntries {
  entries: Entry[];
  /** Keys defined again later in the same file: the first definition is used, the others are reported. */
  repeated: string[];
}

/** Per file, the objects Portico reads with their keys: computed once per parsed file, not on every change. */
const entriesOf = new WeakMap<Obj[], FileEntries>();

function fileEntries(objects: Obj[]): FileEntries {
  let known = entriesOf.get(objects);
  if (known) return known;
  known = { entries: [], repeated: [] };
  const keys = new Set<string>();
  for (const o of objects) {
    const field = kindFieldOf(o);
    if (field === undefined) continue;
    const key = objectKey(field, o);
    if (keys.has(key)) {
      known.repeated.push(key);
      continue;
    }
    keys.add(key);
    const meta = metadataOf(o);
    // Manifests may leave the namespace out, as `kubectl apply` does: they land in "default".
    const spec: KindSpec = KINDS[field];
    const namespaced = spec.namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '') ? { ...o, metadata: { ...meta, namespace: 'default' } } : o;
    const obj = spec.retain ? spec.retain(namespaced) : namespaced;
    known.entries.push({ key, field, obj });
  }
  entriesOf.set(objects, known);
  return known;
}

/**
 * Merges per-file objects into one snapshot. The same object in two files is a user mistake: the file that sorts
 * first wins, deterministically, and the other copy is reported.
 */
export function snapshotFromFiles(files: Map<string, Obj[]>): { snapshot: Snapshot; duplicates: Duplicate[] } {
  return new ManifestStore().update(files);
}

interface Owner {
  file: string;
  entry: Entry;
}

/**
 * snapshotFromFiles kept up to date: a change redoes only the files whose objects changed, and unchanged objects
 * keep their place in the snapshot's lists, so translate sees an edit as an edit.
 */
export class ManifestStore {
  private files = new Map<string, FileEntries>();
  /** Key -> the files that define it, sorted by path: the first one wins. */
  private readonly owners = new Map<string, Owner[]>();
  private readonly winners: Record<KindField, Map<string, Obj>> = perKind(() => new Map<string, Obj>());
  /** The lists of the last snapshot, reused for kinds with no change since (translate skips an identical list). */
  private readonly lists: Partial<Snapshot> = {};
  private readonly dirty = new Set<KindField>();
  /** Keys defined in more than one file: reporting duplicates stays proportional to them. */
  private readonly contested = new Set<string>();

  update(files: Map<string, Obj[]>): { snapshot: Snapshot; duplicates: Duplicate[] } {
    const next = new Map<string, FileEntries>();
    for (const [file, objects] of files) next.set(file, fileEntries(objects));
    for (const [file, { entries }] of next) {
      const before = this.files.get(file);
      if (before?.entries === entries) continue;
      const keys = new Set(entries.map((e) => e.key));
      for (const e of entries) this.own(e, file);
      for (const e of before?.entries ?? []) if (!keys.has(e.key)) this.disown(e, file);
    }
    for (const [file, { entries }] of this.files) if (!next.has(file)) for (const e of entries) this.disown(e, file);
    this.files = next;

    const snapshot = emptySnapshot();
    for (const field of KIND_FIELDS) {
      if (this.dirty.has(field) || !this.lists[field]) this.lists[field] = [...this.winners[field].values()];
      snapshot[field] = this.lists[field];
    }
    this.dirty.clear();
    const duplicates: Duplicate[] = [];
    for (const key of this.contested) {
      const list = this.owners.get(key)!;
      for (const o of list.slice(1)) duplicates.push({ key, kept: list[0]!.file, ignored: o.file });
    }
    for (const [file, { repeated }] of next) for (const key of repeated) duplicates.push({ key, kept: file, ignored: file });
    return { snapshot, duplicates };
  }

  private own(e: Entry, file: string): void {
    const list = (this.owners.get(e.key) ?? []).filter((o) => o.file !== file);
    list.push({ file, entry: e });
    list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    this.setOwners(e.key, list);
  }

  private disown(e: Entry, file: string): void {
    const list = (this.owners.get(e.key) ?? []).filter((o) => o.file !== file);
    if (list.length === 0) {
      this.owners.delete(e.key);
      this.contested.delete(e.key);
      this.winners[e.field].delete(e.key);
      this.dirty.add(e.field);
      return;
    }
    this.setOwners(e.key, list);
  }

  private setOwners(key: string, list: Owner[]): void {
    this.owners.set(key, list);
    if (list.length > 1) this.contested.add(key);
    else this.contested.delete(key);
    const winner = list[0]!.entry;
    // Map.set on an existing key keeps its position: an edited object stays where it was in the list.
    if (this.winners[winner.field].get(key) === winner.obj) return;
    this.winners[winner.field].set(key, winner.obj);
    this.dirty.add(winner.field);
  }
}
