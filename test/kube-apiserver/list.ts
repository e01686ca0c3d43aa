// List with the resourceVersion / resourceVersionMatch / limit / continue semantics of the API concepts page
// ("Resource versions", "Retrieving large results sets in chunks"), as the etcd3 store and the cacher implement them
// (staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go GetList, .../storage/cacher/cacher.go shouldDelegateList,
// .../storage/continue.go for the token).
import { badRequest, expired, tooLargeResourceVersion } from './api-errors.js';
import type { ResourceType } from './resources.js';
import type { FieldSelector, LabelSelector } from './selectors.js';
import type { Snapshot, Storage } from './storage.js';
import type { KubeObject } from './types.js';
import { isMap } from './types.js';

// etcd3/errors.go
const EXPIRED_LIST = 'The resourceVersion for the provided list is too old.';
const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** storage.EncodeContinue: base64url (no padding) of {"v":"meta.k8s.io/v1","rv":N,"start":"<key after prefix>"}. */
export function encodeContinue(start: string, rv: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start }), 'utf8').toString('base64url');
}

export function decodeContinue(token: string): { start: string; rv: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid continue token: continue key is not valid');
  }
  if (!isMap(parsed) || parsed.v !== 'meta.k8s.io/v1') throw badRequest('invalid continue token: continue key is not valid: server does not recognize this encoded version');
  if (typeof parsed.rv !== 'number' || parsed.rv === 0) throw badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof parsed.start !== 'string' || parsed.start === '') throw badRequest('invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)');
  // continue.go refuses keys that path.Clean would change: no climbing out of the prefix.
  if (parsed.start.split('/').some((seg) => seg === '..' || seg === '.')) throw badRequest('invalid continue token: continue key is not valid');
  return { start: parsed.start, rv: parsed.rv };
}

export interface ListQuery {
  namespace?: string;
  label: LabelSelector;
  field: FieldSelector;
  limit: number;
  continueToken: string;
  resourceVersion: string;
  resourceVersionMatch: string;
}

export interface ListPage {
  resourceVersion: number;
  items: KubeObject[];
  continue?: string;
  remainingItemCount?: number;
}

export interface ListHooks {
  /** The expireContinue fault: true once, for the next continue request. */
  takeExpireContinue(): boolean;
}

function parseRv(s: string): number {
  if (!/^\d+$/.test(s)) throw badRequest(`Invalid value: "${s}": resourceVersion must be a non-negative integer`);
  return Number(s);
}

export function listPage(storage: Storage, t: ResourceType, q: ListQuery, hooks: ListHooks): ListPage {
  const prefix = t.namespaced && q.namespace ? `${q.namespace}/` : '';
  const current = storage.resourceVersion;
  let snap: Snapshot | undefined;
  let from = prefix;
  let limit = q.limit;

  if (q.continueToken) {
    if (q.resourceVersion && q.resourceVersion !== '0') throw badRequest('specifying resource version is not allowed when using continue');
    const tok = decodeContinue(q.continueToken);
    from = prefix + tok.start;
    // rv -1: the "inconsistent" token a 410 hands out, continuing at the latest state.
    if (tok.rv === -1) snap = { rv: current, items: storage.items(t) };
    else if (!hooks.takeExpireContinue()) snap = storage.stateAt(t, tok.rv);
    if (!snap) throw expired(INCONSISTENT_CONTINUE, encodeContinue(tok.start, -1));
  } else if (q.resourceVersion === '0' && q.resourceVersionMatch !== 'Exact') {
    // Served from the watch cache, which in 1.32 does not paginate: limit is ignored.
    snap = { rv: current, items: storage.items(t) };
    limit = 0;
  } else if (q.resourceVersion === '') {
    snap = { rv: current, items: storage.items(t) };
  } else {
    const rv = parseRv(q.resourceVersion);
    // Legacy rule: a non-zero resourceVersion with a limit and no match means Exact.
    const exact = q.resourceVersionMatch === 'Exact' || (q.resourceVersionMatch === '' && limit > 0);
    if (rv > current) throw tooLargeResourceVersion(rv, current);
    if (exact) {
      snap = storage.stateAt(t, rv);
      if (!snap) throw expired(EXPIRED_LIST);
    } else snap = { rv: current, items: storage.items(t) };
  }

  const matching = snap.items.filter(([k, o]) => k.startsWith(prefix) && k >= from && q.label.matches(o.metadata.labels) && q.field.matches(o));
  if (limit <= 0 || matching.length <= limit) return { resourceVersion: snap.rv, items: matching.map(([, o]) => o) };

  const page = matching.slice(0, limit);
  const lastKey = page[page.length - 1]?.[0] ?? '';
  storage.saveSnapshot(t, snap);
  const selectors = !q.label.empty || !q.field.empty;
  return {
    resourceVersion: snap.rv,
    items: page.map(([, o]) => o),
    // The next page starts just after the last key returned.
    continue: encodeContinue(`${lastKey.slice(prefix.length)}\u0000`, snap.rv),
    // etcd can count what is left only without selectors.
    ...(selectors ? {} : { remainingItemCount: matching.length - limit }),
  };
}
