// Helpers for reading Kubernetes objects that arrive as untyped JSON (from a manifest file or the API server). Every
// field is untrusted: these helpers only narrow types, they never assume a shape.

/** A Kubernetes object, or any JSON object inside one, before validation. */
export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The string-valued entries of a map field (labels, annotations, Secret data); anything else is dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export function metadataOf(o: Obj): Obj {
  return isObject(o.metadata) ? o.metadata : {};
}

/** A field that should be a string: itself, or '' when it is anything else. */
export function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** `namespace/name` of a namespaced object (the namespace `default` when unset, as kubectl applies it), else `name`. */
export function objectName(o: Obj, namespaced: boolean): string {
  const m = metadataOf(o);
  if (!namespaced) return asString(m.name);
  return `${asString(m.namespace) || 'default'}/${asString(m.name)}`;
}
