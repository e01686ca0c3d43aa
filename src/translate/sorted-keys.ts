// A sorted set of strings with O(log n) membership updates: translate keeps its outputs in key order without
// sorting 10,000 keys on every change.
import { cmp } from './diagnostics.js';

export class SortedKeys {
  private keys: string[] = [];

  private indexOf(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** True when the key was not there before. */
  add(key: string): boolean {
    const i = this.indexOf(key);
    if (this.keys[i] === key) return false;
    this.keys.splice(i, 0, key);
    return true;
  }

  /** True when the key was there. */
  delete(key: string): boolean {
    const i = this.indexOf(key);
    if (this.keys[i] !== key) return false;
    this.keys.splice(i, 1);
    return true;
  }

  /** Where the key is in `list`, or -1. */
  position(key: string): number {
    const i = this.indexOf(key);
    return this.keys[i] === key ? i : -1;
  }

  /** The keys in order; the array is shared, callers must not modify it. */
  get list(): readonly string[] {
    return this.keys;
  }
}
