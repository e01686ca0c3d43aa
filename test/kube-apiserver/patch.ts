// The patch formats the real server accepts (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go):
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch. Strategic merge is approximated:
// merge-patch semantics plus the directives kubectl emits ($patch, $retainKeys, $setElementOrder,
// $deleteFromPrimitiveList) and merging by key for the few lists whose merge keys the built-in types declare.
import { badRequest } from './api-errors.js';
import type { JsonMap } from './types.js';
import { clone, deepEqual, isMap } from './types.js';

export class PatchError extends Error {}

/** RFC 7386. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const out: JsonMap = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// patchMergeKey tags of the built-in types that commonly appear in kubectl apply patches.
const MERGE_KEYS: Record<string, (el: JsonMap) => string | undefined> = {
  ports: (el) => ('containerPort' in el ? 'containerPort' : 'port'),
  containers: () => 'name',
  initContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  volumeMounts: () => 'mountPath',
  conditions: () => 'type',
  ownerReferences: () => 'uid',
  imagePullSecrets: () => 'name',
};
// patchStrategy:"merge" lists of scalars: union rather than replace.
const SCALAR_SET_LISTS = new Set(['finalizers']);

/** Strategic merge patch, approximated (see PROTOCOL.md). */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonMap = isMap(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? patch.$retainKeys.filter((k): k is string => typeof k === 'string') : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const cur = out[k];
    if (Array.isArray(v)) out[k] = mergeList(k, cur, v);
    else if (isMap(v)) {
      const merged = strategicMergePatch(cur, v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = clone(v);
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isMap(v)) return v;
  const out: JsonMap = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function mergeList(field: string, cur: unknown, patch: unknown[]): unknown[] {
  if (patch.some((el) => isMap(el) && el.$patch === 'replace')) return patch.filter((el) => !(isMap(el) && el.$patch === 'replace')).map(stripDirectives);
  if (SCALAR_SET_LISTS.has(field) && Array.isArray(cur)) {
    const out: unknown[] = [...(cur as unknown[])];
    for (const el of patch) if (!out.some((x) => deepEqual(x, el))) out.push(el);
    return out;
  }
  const first = patch.find(isMap);
  const key = first && Object.hasOwn(MERGE_KEYS, field) ? MERGE_KEYS[field]?.(first) : undefined;
  if (!key || !Array.isArray(cur)) return patch.filter((el) => !(isMap(el) && el.$patch === 'delete')).map(stripDirectives);
  const out: unknown[] = (cur as unknown[]).map((x) => clone(x));
  for (const el of patch) {
    if (!isMap(el)) continue;
    const idx = out.findIndex((x) => isMap(x) && deepEqual(x[key], el[key]));
    if (el.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) out[idx] = strategicMergePatch(out[idx], el);
    else out.push(stripDirectives(el));
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new PatchError(`invalid array index ${token}`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
}

function parentOf(doc: unknown, tokens: string[]): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isMap(cur) && t in cur) cur = cur[t];
    else throw new PatchError(`path component "${t}" not found`);
  }
  return { parent: cur, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isMap(parent) && last in parent) return parent[last];
  throw new PatchError(`path ${path} not found`);
}

function removeAt(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (isMap(parent) && last in parent) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw new PatchError(`unable to remove nonexistent key: ${last}`);
}

function addAt(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isMap(parent)) {
    if (replace && !(last in parent)) throw new PatchError(`replace operation does not apply: doc is missing key: ${path}`);
    parent[last] = value;
  } else throw new PatchError(`cannot add at ${path}`);
  return doc;
}

/** RFC 6902. A malformed patch document is a 400; an op that does not apply is a PatchError (422 upstream). */
export function jsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = clone(doc);
  for (const raw of patch) {
    if (!isMap(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('invalid JSON patch operation');
    const op = raw as unknown as Op;
    switch (op.op) {
      case 'add':
        out = addAt(out, op.path, clone(op.value), false);
        break;
      case 'remove':
        removeAt(out, op.path);
        break;
      case 'replace':
        out = addAt(out, op.path, clone(op.value), true);
        break;
      case 'move': {
        const v = removeAt(out, op.from ?? '');
        out = addAt(out, op.path, v, false);
        break;
      }
      case 'copy':
        out = addAt(out, op.path, clone(getAt(out, op.from ?? '')), false);
        break;
      case 'test':
        if (!deepEqual(getAt(out, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}
