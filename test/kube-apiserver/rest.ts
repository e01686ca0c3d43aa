// The resource endpoints: GET (get, list, watch), POST, PUT, PATCH, DELETE on
// /api/v1/[namespaces/NS/]RESOURCE[/NAME[/status]] and /apis/GROUP/VERSION/..., dispatched as the apiserver's
// installer (staging/src/k8s.io/apiserver/pkg/endpoints/installer.go) lays the routes out.
import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-errors.js';
import { badRequest, methodNotSupported, pathNotFound } from './api-errors.js';
import type { Faults } from './faults.js';
import { listPage } from './list.js';
import type { Rendering } from './negotiate.js';
import { negotiateOutput, parseBody, patchType } from './negotiate.js';
import type { DeleteOptions, Registry } from './registry.js';
import type { RequestInfo } from './request-info.js';
import type { ResourceType } from './resources.js';
import { apiVersionOf, findByPath } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { Storage } from './storage.js';
import type { IncludeObject } from './table.js';
import { toTable } from './table.js';
import type { KubeObject } from './types.js';
import { isMap } from './types.js';
import { WatchStream } from './watch.js';

export interface RestContext {
  storage: Storage;
  registry: Registry;
  faults: Faults;
  watches: Set<WatchStream>;
  bookmarkIntervalMs: number;
}

export interface Exchange {
  method: string;
  headers: { accept?: string; contentType?: string };
  res: ServerResponse;
  info: RequestInfo;
  query: URLSearchParams;
  body: string;
  /** Records the status code in the request log. */
  setStatus(code: number): void;
}

export function sendJson(ex: Pick<Exchange, 'res' | 'setStatus'>, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  ex.setStatus(code);
  ex.res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), ...headers });
  ex.res.end(text);
}

/** responsewriters.ErrorNegotiated: a Status with details.retryAfterSeconds also sets Retry-After. */
export function sendError(ex: Pick<Exchange, 'res' | 'setStatus'>, e: ApiError): void {
  const retry = e.status.details?.retryAfterSeconds;
  sendJson(ex, e.code, e.status, { ...(retry ? { 'Retry-After': String(retry) } : {}), ...e.headers });
}

/** kind and apiVersion first, as Go's encoder writes TypeMeta. */
function wire(o: KubeObject): KubeObject {
  const { kind, apiVersion, metadata, ...rest } = o;
  return { kind, apiVersion, metadata, ...rest };
}

/** List items have no kind/apiVersion: typed lists leave the embedded TypeMeta empty. */
function listItem(o: KubeObject): Record<string, unknown> {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function render(t: ResourceType, r: Rendering, q: URLSearchParams): (o: KubeObject) => unknown {
  if (r.as === 'json') return wire;
  return (o) => toTable(t, [o], { resourceVersion: o.metadata.resourceVersion ?? '' }, { apiVersion: r.apiVersion, include: includeObject(q) });
}

function dryRun(q: URLSearchParams): boolean {
  return q.getAll('dryRun').includes('All');
}

function limitParam(q: URLSearchParams): number {
  const s = q.get('limit');
  if (s === null || s === '') return 0;
  if (!/^-?\d+$/.test(s)) throw badRequest(`limit: Invalid value: "${s}": must be an integer`);
  const n = Number(s);
  if (n < 0) throw badRequest('limit: Invalid value: must be non-negative');
  return n;
}

/** minRequestTimeout (1800 s) times [1, 2): the server-chosen watch timeout when the client sets none (or 0). */
function watchTimeoutMs(q: URLSearchParams): number {
  const s = q.get('timeoutSeconds');
  if (s !== null && /^\d+$/.test(s) && Number(s) > 0) return Number(s) * 1000;
  return Math.floor(1800_000 * (1 + Math.random()));
}

export function serveResource(ctx: RestContext, ex: Exchange): void {
  const { info, query } = ex;
  const t = findByPath(info.apiGroup, info.apiVersion, info.resource);
  if (!t || info.parts.length > 3) throw pathNotFound();
  // The namespace object's own path carries its name as "namespace" (request-info quirk); it is not a scope.
  const isNamespaceObject = t.resource === 'namespaces';
  if (!t.namespaced && info.namespace && !isNamespaceObject) throw pathNotFound();
  const namespace = t.namespaced ? info.namespace : undefined;
  if (info.subresource && !(info.subresource === 'status' && t.statusSubresource)) throw pathNotFound();
  const name = info.parts[1] ?? '';
  const sub = info.subresource || undefined;

  switch (ex.method) {
    case 'GET':
      return name ? getOne(ctx, ex, t, namespace, name) : info.verb === 'watch' ? watch(ctx, ex, t, namespace) : list(ctx, ex, t, namespace);
    case 'POST': {
      if (name) throw methodNotSupported(t.group, t.resource, 'create');
      if (t.namespaced && !namespace) throw methodNotSupported(t.group, t.resource, 'create');
      const created = ctx.registry.create(t, namespace, parseBody(ex.headers.contentType, ex.body), { dryRun: dryRun(query) });
      return sendJson(ex, 201, wire(created));
    }
    case 'PUT': {
      if (!name) throw methodNotSupported(t.group, t.resource, 'update');
      const r = ctx.registry.update(t, namespace, name, parseBody(ex.headers.contentType, ex.body), { ...(sub ? { subresource: sub } : {}), dryRun: dryRun(query) });
      return sendJson(ex, r.created ? 201 : 200, wire(r.object));
    }
    case 'PATCH': {
      if (!name) throw methodNotSupported(t.group, t.resource, 'patch');
      const type = patchType(ex.headers.contentType);
      const patch = parseBody(type === 'apply' ? 'application/apply-patch+yaml' : 'application/json', ex.body);
      const obj = ctx.registry.patch(t, namespace, name, type, patch, { ...(sub ? { subresource: sub } : {}), dryRun: dryRun(query) });
      return sendJson(ex, 200, wire(obj));
    }
    case 'DELETE': {
      if (sub) throw methodNotSupported(t.group, t.resource, 'delete');
      const opts = deleteOptions(ex, query);
      if (!name) return deleteCollection(ctx, ex, t, namespace, opts);
      const r = ctx.registry.delete(t, namespace, name, opts);
      // 202 while finalizers hold the object back, 200 once it is gone.
      return r.done ? sendJson(ex, 200, r.status) : sendJson(ex, 202, wire(r.object));
    }
    default:
      throw methodNotSupported(t.group, t.resource, ex.method);
  }
}

function getOne(ctx: RestContext, ex: Exchange, t: ResourceType, namespace: string | undefined, name: string): void {
  const r = negotiateOutput(ex.headers.accept, true);
  const obj = ctx.registry.get(t, namespace, name);
  sendJson(ex, 200, render(t, r, ex.query)(obj));
}

function selectors(t: ResourceType, q: URLSearchParams): { label: ReturnType<typeof parseLabelSelector>; field: ReturnType<typeof parseFieldSelector> } {
  return { label: parseLabelSelector(q.get('labelSelector')), field: parseFieldSelector(t, q.get('fieldSelector')) };
}

function list(ctx: RestContext, ex: Exchange, t: ResourceType, namespace: string | undefined): void {
  const r = negotiateOutput(ex.headers.accept, true);
  const q = ex.query;
  const page = listPage(
    ctx.storage,
    t,
    {
      ...(namespace ? { namespace } : {}),
      ...selectors(t, q),
      limit: limitParam(q),
      continueToken: q.get('continue') ?? '',
      resourceVersion: q.get('resourceVersion') ?? '',
      resourceVersionMatch: q.get('resourceVersionMatch') ?? '',
    },
    { takeExpireContinue: () => ctx.faults.takeExpireContinue() },
  );
  const meta: Record<string, unknown> = { resourceVersion: String(page.resourceVersion) };
  if (page.continue) meta.continue = page.continue;
  if (page.remainingItemCount !== undefined) meta.remainingItemCount = page.remainingItemCount;
  if (r.as === 'table') return sendJson(ex, 200, toTable(t, page.items, meta, { apiVersion: r.apiVersion, include: includeObject(q) }));
  sendJson(ex, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: meta, items: page.items.map(listItem) });
}

function watch(ctx: RestContext, ex: Exchange, t: ResourceType, namespace: string | undefined): void {
  const r = negotiateOutput(ex.headers.accept, true);
  const q = ex.query;
  const rv = q.get('resourceVersion') ?? '';
  if (rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": invalid syntax`);
  const w = new WatchStream(
    t,
    ex.res,
    ctx.storage,
    {
      ...(namespace ? { namespace } : {}),
      ...selectors(t, q),
      resourceVersion: rv,
      allowBookmarks: q.get('allowWatchBookmarks') === 'true',
      sendInitialEvents: q.get('sendInitialEvents') === 'true',
      timeoutMs: watchTimeoutMs(q),
      bookmarkIntervalMs: ctx.bookmarkIntervalMs,
      render: render(t, r, q),
    },
    (done) => ctx.watches.delete(done),
  );
  ctx.watches.add(w);
  if (ctx.faults.shouldStall(t.resource)) w.stall();
  ex.setStatus(200);
  w.start();
}

function deleteOptions(ex: Exchange, q: URLSearchParams): DeleteOptions {
  const body = ex.body.trim() === '' ? undefined : parseBody(ex.headers.contentType, ex.body);
  const pre = isMap(body) && isMap(body.preconditions) ? body.preconditions : {};
  const opts: DeleteOptions = { dryRun: dryRun(q) || (isMap(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All')) };
  const preconditions: { uid?: string; resourceVersion?: string } = {};
  if (typeof pre.uid === 'string') preconditions.uid = pre.uid;
  if (typeof pre.resourceVersion === 'string') preconditions.resourceVersion = pre.resourceVersion;
  if (preconditions.uid || preconditions.resourceVersion) opts.preconditions = preconditions;
  return opts;
}

function deleteCollection(ctx: RestContext, ex: Exchange, t: ResourceType, namespace: string | undefined, opts: DeleteOptions): void {
  if (t.namespaced && !namespace) throw methodNotSupported(t.group, t.resource, 'deletecollection');
  const { label, field } = selectors(t, ex.query);
  const prefix = namespace ? `${namespace}/` : '';
  const deleted: KubeObject[] = [];
  for (const [, o] of ctx.storage.items(t, prefix)) {
    if (!label.matches(o.metadata.labels) || !field.matches(o)) continue;
    const name = o.metadata.name ?? '';
    const before = ctx.registry.get(t, namespace, name);
    const r = ctx.registry.delete(t, namespace, name, opts);
    deleted.push(r.done ? before : r.object);
  }
  sendJson(ex, 200, { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(ctx.storage.resourceVersion) }, items: deleted.map(listItem) });
}
