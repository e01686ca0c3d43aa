// Sources hand over unchanged objects as the same references, and in a stable order: comparing a new list with the
// last one by identity finds what changed without computing any key or looking inside any object.

export interface Changes<T> {
  added: T[];
  removed: T[];
}

export class IdentityTracker<T> {
  private list: readonly T[] = [];
  private readonly set = new Set<T>();

  /** What differs between the last list seen and `next`; `next` becomes the last list. */
  diff(next: readonly T[]): Changes<T> {
    // Sources hand over the very same list when nothing of its kind changed (an endpoint edit leaves the Ingresses').
    if (next === this.list) return { added: [], removed: [] };
    const changes = this.positional(next) ?? this.bySet(next);
    for (const o of changes.removed) this.set.delete(o);
    for (const o of changes.added) this.set.add(o);
    this.list = next;
    return changes;
  }

  /** Same length and order with a few objects replaced in place (an edit): one pass of pointer comparisons. */
  private positional(next: readonly T[]): Changes<T> | undefined {
    if (next.length !== this.list.length) return undefined;
    const added: T[] = [];
    const removed: T[] = [];
    for (let i = 0; i < next.length; i++) {
      if (next[i] === this.list[i]) continue;
      if (this.set.has(next[i]!)) return undefined; // a reorder, not an edit
      added.push(next[i]!);
      removed.push(this.list[i]!);
    }
    return { added, removed };
  }

  private bySet(next: readonly T[]): Changes<T> {
    const now = new Set(next);
    const added: T[] = [];
    for (const o of now) if (!this.set.has(o)) added.push(o);
    const removed: T[] = [];
    // Every object kept from before is in both sets: if that accounts for all of the old set, nothing was removed.
    if (now.size - added.length !== this.set.size) for (const o of this.set) if (!now.has(o)) removed.push(o);
    return { added, removed };
  }
}
