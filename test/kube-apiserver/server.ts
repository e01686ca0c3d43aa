// A stand-in kube-apiserver for tests: the real wire protocol (discovery, CRUD with optimistic concurrency, list
// paging, watches with bookmarks and 410s, patches, Status errors, bearer tokens, RBAC) over node:http(s), with
// direct helpers and fault injection for tests. PROTOCOL.md says what is covered and where it comes from.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { ApiError, badRequest, forbidden, internalError, unauthorized } from './api-errors.js';
import { VERSION_INFO, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { Faults } from './faults.js';
import { openApiGroupVersion, openApiRoot } from './openapi.js';
import type { RbacDenialRecord, RequestRecord } from './log.js';
import { Rbac, forbiddenMessage, serviceAccountUser } from './rbac.js';
import type { UserInfo } from './rbac.js';
import { Registry } from './registry.js';
import { requestInfo } from './request-info.js';
import type { RequestInfo } from './request-info.js';
import type { ResourceType } from './resources.js';
import { findByKind, findByPath } from './resources.js';
import type { Exchange, RestContext } from './rest.js';
import { sendError, sendJson, serveResource } from './rest.js';
import { Storage } from './storage.js';
import { servingCert } from './tls.js';
import type { KubeObject } from './types.js';
import { isMap } from './types.js';
import type { WatchStream } from './watch.js';

export { ApiError } from './api-errors.js';
export type { KubeObject } from './types.js';
export type { RbacDenialRecord, RequestRecord } from './log.js';
export type { Faults, RequestFilter } from './faults.js';

/** Any object with apiVersion, kind and metadata.name (checked when used). */
export type ObjectInput = Record<string, unknown>;

export interface ApiServerOptions {
  /** HTTPS with a self-signed certificate for 127.0.0.1 (default), or plain HTTP. */
  tls?: boolean;
  /** When set, every request needs `Authorization: Bearer <token>` (or the admin token); 401 otherwise. */
  token?: string;
  /** Authorize the ServiceAccount's requests with the Roles and bindings in these YAML files. */
  rbac?: { files: string[]; serviceAccount: { namespace: string; name: string } };
  /** Watch history kept per resource type (the watch cache's capacity). Default 1000. */
  historyLimit?: number;
  /** Period of BOOKMARK events on watches that allow them. Default 1000 ms (a real server: about a minute). */
  bookmarkIntervalMs?: number;
}

export interface KubeconfigUser {
  /** A token to write, overriding `user`. */
  token?: string;
  /** `token`: the configured ServiceAccount token (default when one is set); `admin`: the admin token; `none`. */
  user?: 'token' | 'admin' | 'none';
}

export interface ApiServer {
  /** `https://127.0.0.1:PORT` (or http://). */
  readonly url: string;
  /** The serving certificate in PEM, to trust; empty without TLS. */
  readonly caPem: string;
  /** A bearer token that authenticates as a cluster admin (group system:masters): RBAC does not apply to it. */
  readonly adminToken: string;
  /** Every request received, in order. */
  readonly requests: RequestRecord[];
  /** Every request RBAC refused. */
  readonly rbacDenials: RbacDenialRecord[];
  readonly faults: Faults;
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
  /** Writes a kubeconfig for this server to `path` and returns the path. */
  kubeconfig(path: string, o?: KubeconfigUser): string;
  /** Creates an object (namespace defaulted to `default` and created if missing; status kept). Bypasses auth. */
  create(obj: ObjectInput): KubeObject;
  /** Replaces an object, status included; a stale metadata.resourceVersion throws the 409 ApiError. */
  update(obj: ObjectInput): KubeObject;
  /** Merge-patches the status subresource. */
  patchStatus(apiVersion: string, kind: string, namespace: string | undefined, name: string, status: unknown): KubeObject;
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(apiVersion: string, kind: string): KubeObject[];
  /**
   * Stops serving, as an API server process that goes away: open watches end (cleanly, as in a graceful shutdown, or
   * cut mid-stream with `abrupt`, as in a crash), connections close, the port refuses. Objects stay (they live in
   * etcd), and the helpers above keep working on them meanwhile, as writes through another API server would.
   */
  stop(o?: { abrupt?: boolean }): Promise<void>;
  /**
   * Serves again on the same port, with the same certificate, tokens, RBAC and objects. The watch cache starts over
   * from the current resourceVersion: a watch from an older one gets the 410 ERROR event, as after a real restart.
   */
  start(): Promise<void>;
  readonly running: boolean;
  close(): Promise<void>;
}

const ADMIN: UserInfo = { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const MAX_BODY = 3 * 1024 * 1024;

/** The type, namespace and name a helper call is about. */
function target(obj: ObjectInput): { t: ResourceType; namespace: string | undefined; name: string } {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw new Error('kube-apiserver stand-in: object needs apiVersion and kind');
  const t = typeOf(obj.apiVersion, obj.kind);
  const meta = isMap(obj.metadata) ? obj.metadata : {};
  const namespace = t.namespaced ? (typeof meta.namespace === 'string' && meta.namespace) || 'default' : undefined;
  return { t, namespace, name: typeof meta.name === 'string' ? meta.name : '' };
}

function typeOf(apiVersion: string, kind: string): ResourceType {
  const t = findByKind(apiVersion, kind);
  if (!t) throw new Error(`kube-apiserver stand-in: no resource type for ${apiVersion} ${kind}`);
  return t;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY ? reject(badRequest('request body too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const tls = opts.tls ?? true;
  const cert = tls ? await servingCert() : undefined;
  const storage = new Storage(opts.historyLimit ?? 1000);
  const registry = new Registry(storage);
  const watches = new Set<WatchStream>();
  const faults = new Faults({ watches: () => watches, compact: () => storage.compact() });
  const ctx: RestContext = { storage, registry, faults, watches, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000 };
  const rbac = opts.rbac ? Rbac.fromFiles(opts.rbac.files) : undefined;
  const serviceAccount = opts.rbac ? serviceAccountUser(opts.rbac.serviceAccount.namespace, opts.rbac.serviceAccount.name) : undefined;
  const adminToken = randomBytes(24).toString('base64url');
  const requests: RequestRecord[] = [];
  const rbacDenials: RbacDenialRecord[] = [];
  let address = '';

  // What a fresh cluster has.
  const namespaces = findByPath('', 'v1', 'namespaces') as ResourceType;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) registry.create(namespaces, undefined, { metadata: { name } });

  /** The configured token is the ServiceAccount (or a plain user without RBAC); no token configured: no authentication. */
  function authenticate(req: IncomingMessage): UserInfo | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const bearer = m?.[1];
    if (bearer === adminToken) return ADMIN;
    if (opts.token === undefined) return serviceAccount ?? ADMIN;
    if (bearer !== opts.token) return undefined;
    return serviceAccount ?? { name: 'test-user', groups: ['system:authenticated'] };
  }

  function authorize(user: UserInfo, info: RequestInfo, record: RequestRecord): void {
    // Discovery, /version and health are readable by every authenticated user (system:discovery, system:public-info-viewer).
    if (!rbac || user.groups.includes('system:masters') || !info.isResourceRequest) return;
    const d = rbac.authorize(user, info);
    if (d.allowed) return;
    const message = forbiddenMessage(user, info) + (d.reason ? `: ${d.reason}` : '');
    const e = forbidden(info.apiGroup, info.resource, info.name, message);
    rbacDenials.push({
      user: user.name,
      verb: info.verb,
      apiGroup: info.apiGroup,
      resource: record.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      path: record.path,
      message: e.status.message ?? '',
    });
    throw e;
  }

  function serveNonResource(ex: Exchange, path: string): void {
    const p = path.replace(/\/+$/, '') || '/';
    const ok = (body: unknown): void => sendJson(ex, 200, body);
    if (p === '/version') return ok(VERSION_INFO);
    if (p === '/api') return ok(apiVersions(address));
    if (p === '/apis') return ok(apiGroupList());
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      ex.setStatus(200);
      ex.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      ex.res.end('ok');
      return;
    }
    if (p === '/openapi/v3') return ok(openApiRoot());
    if (p.startsWith('/openapi/v3/')) {
      const doc = openApiGroupVersion(p.slice('/openapi/v3/'.length));
      if (doc) return ok(doc);
    }
    const segs = p.split('/').filter(Boolean);
    if (segs[0] === 'api' && segs.length === 2) {
      const l = apiResourceList('', segs[1] ?? '');
      if (l) return ok(l);
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const g = apiGroup(segs[1] ?? '');
      if (g) return ok(g);
    }
    if (segs[0] === 'apis' && segs.length === 3) {
      const l = apiResourceList(segs[1] ?? '', segs[2] ?? '');
      if (l) return ok(l);
    }
    // The mux's NotFound handler: plain text, not a Status.
    ex.setStatus(404);
    ex.res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    ex.res.end('404 page not found\n');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const info = requestInfo(method, url.pathname, url.searchParams);
    const record: RequestRecord = {
      time: Date.now(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      verb: info.verb,
      resource: info.subresource ? `${info.resource}/${info.subresource}` : info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      user: '',
      status: 0,
      userAgent: req.headers['user-agent'] ?? '',
      accept: req.headers.accept ?? '',
    };
    requests.push(record);
    const ex: Exchange = {
      method,
      headers: {
        ...(req.headers.accept !== undefined ? { accept: req.headers.accept } : {}),
        ...(req.headers['content-type'] !== undefined ? { contentType: req.headers['content-type'] } : {}),
      },
      res,
      info,
      query: url.searchParams,
      body: '',
      setStatus: (code) => {
        record.status = code;
      },
    };
    try {
      ex.body = await readBody(req);
      const user = authenticate(req);
      if (!user) throw unauthorized();
      record.user = user.name;
      authorize(user, info, record);
      const wait = faults.delayFor(info);
      if (wait > 0) await sleep(wait);
      const failure = faults.takeFailure(info);
      if (failure) throw failure;
      if (!info.isResourceRequest) return serveNonResource(ex, url.pathname);
      const conflict = faults.takeConflict(info, info.apiGroup);
      if (conflict) throw conflict;
      serveResource(ctx, ex);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(ex, e instanceof ApiError ? e : internalError(e instanceof Error ? e.message : String(e)));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  // Every TCP connection, including ones still in their TLS handshake: closeAllConnections() knows only the HTTP
  // ones, and a client reconnecting at the moment of close() would otherwise keep the server open for ever.
  const sockets = new Set<Socket>();
  /** Listens on `port` (0: any); a restart must get its old port back, which may take a moment after the close. */
  async function listen(port: number): Promise<Server> {
    for (let attempt = 0; ; attempt++) {
      const s: Server = cert ? createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, listener) : createHttpServer(listener);
      s.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, '127.0.0.1', () => resolve());
        });
        return s;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0 || attempt >= 50) throw e;
        await sleep(20);
      }
    }
  }
  let server: Server | undefined = await listen(0);
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;
  const url = `${tls ? 'https' : 'http'}://${address}`;

  /** Watches end (cleanly, as in a graceful shutdown, or cut, as in a crash), every connection goes, the port closes. */
  async function stop(abrupt: boolean): Promise<void> {
    const s = server;
    server = undefined;
    for (const w of [...watches]) w.end(abrupt);
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  }

  return {
    url,
    caPem: cert?.certPem ?? '',
    adminToken,
    requests,
    rbacDenials,
    faults,
    get resourceVersion() {
      return String(storage.resourceVersion);
    },
    kubeconfig(path, o = {}) {
      const user = o.user ?? (opts.token !== undefined ? 'token' : 'none');
      const token = o.token ?? (user === 'admin' ? adminToken : user === 'token' ? opts.token : undefined);
      const cluster: Record<string, string> = { server: url };
      if (cert) cluster['certificate-authority-data'] = Buffer.from(cert.certPem, 'utf8').toString('base64');
      writeFileSync(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'test', cluster }],
          users: [{ name: 'test', user: token ? { token } : {} }],
          contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace: 'default' } }],
          'current-context': 'test',
        }),
        { mode: 0o600 },
      );
      return path;
    },
    create(obj) {
      const { t, namespace } = target(obj);
      return registry.create(t, namespace, obj, { keepStatus: true, createNamespace: true });
    },
    update(obj) {
      const { t, namespace, name } = target(obj);
      return registry.update(t, namespace, name, obj, { replaceStatus: true }).object;
    },
    patchStatus(apiVersion, kind, namespace, name, status) {
      const t = typeOf(apiVersion, kind);
      const sub = t.statusSubresource ? { subresource: 'status' } : {};
      return registry.patch(t, namespace, name, 'merge', { status }, sub);
    },
    remove(apiVersion, kind, namespace, name) {
      registry.delete(typeOf(apiVersion, kind), namespace, name);
    },
    get(apiVersion, kind, namespace, name) {
      const t = typeOf(apiVersion, kind);
      const o = storage.peek(t, registry.key(t, namespace, name));
      return o ? structuredClone(o) : undefined;
    },
    list(apiVersion, kind) {
      return storage.items(typeOf(apiVersion, kind)).map(([, o]) => structuredClone(o));
    },
    stop(o = {}) {
      return stop(o.abrupt ?? false);
    },
    async start() {
      if (server) throw new Error('kube-apiserver stand-in: start() while running');
      storage.restartWatchCache();
      server = await listen(port);
    },
    get running() {
      return server !== undefined;
    },
    close() {
      return stop(false);
    },
  };
}
