// Shapes shared by the stand-in API server's modules. Objects are kept as plain JSON, as the real server's
// unstructured path does: the server must pass through fields it does not know about unchanged.
import type { ObjectMeta as ReadonlyObjectMeta } from 'kubernetes-types/meta/v1.js';

/** kubernetes-types marks server-set fields readonly; the server is the one that sets them. */
export type ObjectMeta = { -readonly [K in keyof ReadonlyObjectMeta]: ReadonlyObjectMeta[K] };

/** A stored object: always has kind, apiVersion and metadata; everything else is opaque JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type JsonMap = Record<string, unknown>;

export function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects leave storage only as deep copies, so neither tests nor handlers can change stored state in place. */
export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
