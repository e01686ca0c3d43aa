// Create / update / patch / delete with the semantics of the generic registry store
// (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go) and the per-type strategies: optimistic
// concurrency on metadata.resourceVersion, spec/status split, generation, finalizers, no-op updates that write nothing.
// Shared by the HTTP handlers and the test helpers, so both produce the same resourceVersions and watch events.
import { randomUUID } from 'node:crypto';
import type { StatusBody } from './api-errors.js';
import { alreadyExists, badRequest, conflict, invalid, notFound } from './api-errors.js';
import { Allocator, applyDefaults, initialStatus, validate, validateName } from './defaults.js';
import { PatchError, jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES, apiVersionOf, findByPath } from './resources.js';
import type { Storage } from './storage.js';
import { objectKey } from './storage.js';
import type { KubeObject } from './types.js';
import { clone, deepEqual, isMap } from './types.js';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface WriteOptions {
  /** ?dryRun=All: everything but the write. */
  dryRun?: boolean;
}

export interface CreateOptions extends WriteOptions {
  /** Test helpers seed status in one step; the API drops it on create, as PrepareForCreate does. */
  keepStatus?: boolean;
  /** Test helpers create a missing namespace; the API answers 404 as the NamespaceLifecycle admission plugin does. */
  createNamespace?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: string;
  /** Test helper `update()`: a full replace, status included. */
  replaceStatus?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type DeleteResult = { done: true; status: StatusBody } | { done: false; object: KubeObject };

const NAMESPACES = findByPath('', 'v1', 'namespaces') as ResourceType;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// names.SimpleNameGenerator: 5 characters from an alphabet without vowels and look-alikes.
function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** Everything but metadata and status: what a generation bump tracks. */
function specPart(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Registry {
  private readonly alloc = new Allocator();

  constructor(readonly storage: Storage) {}

  key(t: ResourceType, namespace: string | undefined, name: string): string {
    return objectKey(t.namespaced ? namespace : undefined, name);
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.storage.peek(t, this.key(t, namespace, name));
    if (!o) throw notFound(t.group, t.resource, name);
    return clone(o);
  }

  /** The decoder defaults a missing kind/apiVersion from the URL and refuses a different one. */
  private checkBody(t: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (!isMap(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    const o = clone(body) as KubeObject;
    const want = apiVersionOf(t);
    if (o.apiVersion !== undefined && o.apiVersion !== want) throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${want})`);
    if (o.kind !== undefined && o.kind !== t.kind) throw badRequest(`the kind in the data (${String(o.kind)}) does not match the expected kind (${t.kind})`);
    o.apiVersion = want;
    o.kind = t.kind;
    if (!isMap(o.metadata)) o.metadata = {};
    if (t.namespaced) {
      if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = namespace || o.metadata.namespace;
    } else delete o.metadata.namespace;
    return o;
  }

  private validateAll(t: ResourceType, o: KubeObject): void {
    const name = o.metadata.name ?? '';
    const errs = [...validateName(t, name), ...validate(t, o)];
    if (errs.length) throw invalid(t.group, t.kind, name, errs);
  }

  create(t: ResourceType, namespace: string | undefined, body: unknown, opts: CreateOptions = {}): KubeObject {
    const o = this.checkBody(t, namespace, body);
    const m = o.metadata;
    if (t.namespaced && !m.namespace) throw badRequest('the server could not find the requested resource (namespace is required)');
    if (!m.name) {
      if (!m.generateName) throw invalid(t.group, t.kind, '', [{ field: 'metadata.name', type: 'Required', detail: 'name or generateName is required' }]);
      m.name = m.generateName + randomSuffix();
    }
    if (t.namespaced && m.namespace && !this.storage.peek(NAMESPACES, m.namespace)) {
      if (!opts.createNamespace) throw notFound('', 'namespaces', m.namespace);
      this.create(NAMESPACES, undefined, { metadata: { name: m.namespace } });
    }
    const key = this.key(t, m.namespace, m.name);
    if (this.storage.peek(t, key)) throw alreadyExists(t.group, t.resource, m.name);
    m.uid = randomUUID();
    m.creationTimestamp = now();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    if (t.generation) m.generation = 1;
    else delete m.generation;
    if (t.statusSubresource && !(opts.keepStatus && o.status !== undefined)) o.status = initialStatus(t);
    applyDefaults(t, o, undefined, this.alloc);
    this.validateAll(t, o);
    if (opts.dryRun) return o;
    return this.storage.put(t, key, o);
  }

  update(t: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: UpdateOptions = {}): { object: KubeObject; created: boolean } {
    const o = this.checkBody(t, namespace, body);
    if (o.metadata.name && o.metadata.name !== name) throw badRequest(`the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`);
    o.metadata.name = name;
    const key = this.key(t, namespace, name);
    const cur = this.storage.peek(t, key);
    if (!cur) {
      if (t.createOnUpdate && !opts.subresource) return { object: this.create(t, namespace, o, opts), created: true };
      throw notFound(t.group, t.resource, name);
    }
    const wantRv = o.metadata.resourceVersion;
    // An empty resourceVersion is an unconditional update (AllowUnconditionalUpdate is true for these types).
    if (wantRv && wantRv !== cur.metadata.resourceVersion) throw conflict(t.group, t.resource, name);

    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = clone(cur);
      if (o.status === undefined) delete next.status;
      else next.status = o.status;
    } else {
      next = o;
      const m = next.metadata;
      const cm = cur.metadata;
      m.uid = cm.uid;
      m.creationTimestamp = cm.creationTimestamp;
      if (cm.generation !== undefined) m.generation = cm.generation;
      else delete m.generation;
      if (cm.deletionTimestamp) {
        m.deletionTimestamp = cm.deletionTimestamp;
        m.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      if (t.statusSubresource && !opts.replaceStatus) {
        if (cur.status === undefined) delete next.status;
        else next.status = clone(cur.status);
      }
      applyDefaults(t, next, cur, this.alloc);
      this.validateAll(t, next);
      if (t.generation && !deepEqual(specPart(cur), specPart(next))) m.generation = (cm.generation ?? 1) + 1;
    }
    return { object: this.commit(t, key, cur, next, opts), created: false };
  }

  private commit(t: ResourceType, key: string, cur: KubeObject, next: KubeObject, opts: WriteOptions): KubeObject {
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    // etcd3 GuaranteedUpdate: an update that changes nothing is not written, so no new resourceVersion and no event.
    if (deepEqual(cur, next)) return clone(cur);
    if (opts.dryRun) return next;
    // The last finalizer removed from an object being deleted: the update is not written, the object is deleted
    // instead (store.go errEmptiedFinalizers / deleteWithoutFinalizers).
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) return this.storage.remove(t, key) ?? next;
    return this.storage.put(t, key, next);
  }

  patch(t: ResourceType, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: UpdateOptions = {}): KubeObject {
    const cur = this.storage.peek(t, this.key(t, namespace, name));
    if (!cur) {
      // Server-side apply creates; the other patch types need an object to patch.
      if (type === 'apply' && !opts.subresource) return this.create(t, namespace, { ...(isMap(patch) ? patch : {}), metadata: { ...(isMap(patch) && isMap(patch.metadata) ? patch.metadata : {}), name } }, opts);
      throw notFound(t.group, t.resource, name);
    }
    let patched: unknown;
    try {
      switch (type) {
        case 'merge':
        case 'apply':
          patched = mergePatch(clone(cur), patch);
          break;
        case 'strategic':
          patched = strategicMergePatch(clone(cur), patch);
          break;
        case 'json':
          patched = jsonPatch(clone(cur), patch);
          break;
      }
    } catch (e) {
      // patch.go answers a JSON patch that does not apply with NewGenericServerResponse(422, ...).
      if (e instanceof PatchError) throw invalid(t.group, t.kind, name, [{ field: 'patch', type: 'Invalid', value: '', detail: e.message }]);
      throw e;
    }
    return this.update(t, namespace, name, patched, opts).object;
  }

  delete(t: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): DeleteResult {
    const key = this.key(t, namespace, name);
    const cur = this.storage.peek(t, key);
    if (!cur) throw notFound(t.group, t.resource, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid)
      throw conflict(t.group, t.resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion)
      throw conflict(t.group, t.resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`);
    if (cur.metadata.finalizers?.length) {
      // Graceful: the object stays, marked, until its finalizers are removed.
      if (cur.metadata.deletionTimestamp || opts.dryRun) return { done: false, object: clone(cur) };
      const next = clone(cur);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      return { done: false, object: this.storage.put(t, key, next) };
    }
    const success: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(t.group ? { group: t.group } : {}), kind: t.resource, uid: cur.metadata.uid ?? '' },
    } as StatusBody;
    if (opts.dryRun) return { done: true, status: success };
    if (t === NAMESPACES) this.emptyNamespace(name);
    this.storage.remove(t, key);
    return { done: true, status: success };
  }

  /** The namespace controller's work, done at once: everything in a deleted namespace goes with it. */
  private emptyNamespace(namespace: string): void {
    for (const t of RESOURCE_TYPES) {
      if (!t.namespaced) continue;
      for (const [key] of this.storage.items(t, `${namespace}/`)) this.storage.remove(t, key);
    }
  }
}
