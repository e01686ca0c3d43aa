// Convergence through the Kubernetes API: the same three changes as convergence.ts (endpoint change, new Ingress,
// certificate rotation), made as API writes to the stand-in kube-apiserver of the end-to-end tests
// (test/kube-apiserver: list/watch with resourceVersions, bookmarks, TLS, bearer tokens) that Portico reads through
// --kubeconfig with its reflectors. The clock starts just before the write request is sent and stops at the first
// fresh connection that sees the new state, as for files.
import { mkdir } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { startApiServer } from '../../test/kube-apiserver/server.js';
import type { ApiServer, ObjectInput } from '../../test/kube-apiserver/server.js';
import { makeCert } from '../lib/certs.js';
import type { Cert } from '../lib/certs.js';
import { applyCounters } from '../lib/metrics.js';
import { freePort } from '../../test/e2e/harness/ports.js';
import { httpGet, pollUntil, tlsFingerprint } from '../lib/probes.js';
import { percentile } from '../lib/stats.js';
import { annotationMix, fleetHost } from '../manifests/fleet.js';
import { NAMESPACE } from '../manifests/objects.js';
import { ECHO_ADDRESSES, ORIGIN_ADDRESSES } from '../peers/backend.js';
import { startPortico } from '../peers/portico.js';
import type { PorticoProcess } from '../peers/portico.js';
import type { ConvergenceRow } from '../report/types.js';
import { EP_HOST, REDIRECT_HOST, TLS_HOST, redirectUrl, settle, summarise } from './convergence.js';
import type { Context, Sample } from './convergence.js';

const TOKEN = 'portico-bench-token';
/** Written to owned Ingresses' status; the seeded Ingresses already carry it, as after a long-running controller. */
const PUBLISHED = '203.0.113.10';
const CONTROLLER = 'portico.dev/ingress-controller';
const PORTICO_NS = 'portico';

export async function runConvergenceApi(ctx: Context): Promise<ConvergenceRow[]> {
  const rows: ConvergenceRow[] = [];
  for (const size of ctx.s.convergence.apiSizes) {
    ctx.log(`convergence (Kubernetes API): ${size} Ingresses`);
    rows.push(...(await runSize(ctx, size)));
  }
  return rows;
}

/** The Ingress whose permanent-redirect URL the annotation change rewrites. */
const redirecting = (r: number): ObjectInput =>
  ingressObj({ name: 'redirect', host: REDIRECT_HOST, service: 'target', status: true, annotations: { 'nginx.ingress.kubernetes.io/permanent-redirect': redirectUrl(r) } });

// The objects of bench/manifests/objects.ts, as API objects.
const STATUS = { loadBalancer: { ingress: [{ ip: PUBLISHED }] } };
const meta = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, namespace: NAMESPACE, ...extra });

function ingressObj(o: { name: string; host: string; service: string; tlsSecret?: string; status?: boolean; annotations?: Record<string, string> }): ObjectInput {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(o.name, o.annotations ? { annotations: o.annotations } : {}),
    spec: {
      ingressClassName: 'portico',
      ...(o.tlsSecret ? { tls: [{ hosts: [o.host], secretName: o.tlsSecret }] } : {}),
      rules: [{ host: o.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: o.service, port: { name: 'http' } } } }] } }],
    },
    ...(o.status ? { status: STATUS } : {}),
  };
}

function serviceObj(name: string, targetPort: number): ObjectInput {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }] } };
}

function sliceObj(o: { name: string; service: string; port: number; addresses: string[] }): ObjectInput {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: meta(o.name, { labels: { 'kubernetes.io/service-name': o.service } }),
    addressType: 'IPv4',
    ports: [{ name: 'http', port: o.port, protocol: 'TCP' }],
    endpoints: o.addresses.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

function secretObj(name: string, cert: Cert): ObjectInput {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(name), type: 'kubernetes.io/tls', data: { 'tls.crt': b64(cert.certPem), 'tls.key': b64(cert.keyPem) } };
}

/** A client that writes as `kubectl` or a controller would: JSON over one kept-alive HTTPS connection, admin token. */
class ApiWriter {
  private readonly agent: Agent;

  constructor(private readonly api: ApiServer) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca: api.caPem });
  }

  send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${this.api.adminToken}`, accept: 'application/json', 'user-agent': 'portico-bench' };
    if (data !== undefined) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.api.url), { method, headers, agent: this.agent, timeout: 10_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `bin/portico serve --kubeconfig`, with leader election and status writing on. */
async function startApiPortico(kubeconfig: string, stateDir: string): Promise<PorticoProcess> {
  // The Lease (leader election) lives in POD_NAMESPACE, as in deploy/.
  const env: NodeJS.ProcessEnv = { ...process.env, POD_NAMESPACE: PORTICO_NS, POD_NAME: 'portico-bench-0' };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  return startPortico({ stateDir, httpPort, httpsPort, adminPort, args: ['--kubeconfig', kubeconfig, '--publish-status-address', PUBLISHED], env });
}

/** What a cluster that has run for a while holds: the fleet, the two Ingresses under test, their Service, slice and Secret. */
function seed(api: ApiServer, size: number, port: number, cert: Cert): void {
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: PORTICO_NS } });
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: CONTROLLER } });
  // Directly into the stand-in's store (no HTTP): 30,000 objects in a second or two.
  for (let i = 0; i < size - 2; i++) {
    const svc = `app-${i}`;
    const annotations = annotationMix(i);
    api.create(ingressObj({ name: svc, host: fleetHost(i), service: svc, status: true, ...(annotations ? { annotations } : {}) }));
    api.create(serviceObj(svc, port));
    api.create(sliceObj({ name: `${svc}-1`, service: svc, port, addresses: ORIGIN_ADDRESSES }));
  }
  api.create(ingressObj({ name: 'ep', host: EP_HOST, service: 'target', status: true }));
  api.create(ingressObj({ name: 'tls', host: TLS_HOST, service: 'target', tlsSecret: 'rotated', status: true }));
  api.create(redirecting(0));
  api.create(serviceObj('target', port));
  api.create(sliceObj({ name: 'target-1', service: 'target', port, addresses: [ECHO_ADDRESSES[0]!] }));
  api.create(secretObj('rotated', cert));
}

async function runSize(ctx: Context, size: number): Promise<ConvergenceRow[]> {
  const c = ctx.s.convergence;
  const dir = join(ctx.workDir, `convergence-api-${size}`);
  const stateDir = join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  const certs: Cert[] = Array.from({ length: c.repetitions + 1 }, (_, i) => makeCert(dir, `rot-${i}`, [TLS_HOST]));
  const port = ctx.backend.port;

  const api = await startApiServer({ token: TOKEN });
  const writer = new ApiWriter(api);
  let p: PorticoProcess | undefined;
  try {
    const t0 = performance.now();
    seed(api, size, port, certs[0]!);
    ctx.log(`  seeded ${size} Ingresses, Services and EndpointSlices into the stand-in API server in ${(performance.now() - t0).toFixed(0)} ms`);
    const kubeconfig = api.kubeconfig(join(dir, 'kubeconfig'), { token: TOKEN });
    p = await startApiPortico(kubeconfig, stateDir);
    const portico = p;
    const readyMs = await portico.waitReady(120_000, 50);
    const initial = await pollUntil(async () => (await httpGet(portico.httpPort, EP_HOST)).body === ECHO_ADDRESSES[0], performance.now(), 50, 60_000);
    if (initial === undefined) throw new Error(`Portico never routed ${EP_HOST} to ${ECHO_ADDRESSES[0]}: ${portico.child.tail()}`);
    await settle(portico);
    const statusWrites = (): number => api.requests.filter((r) => r.resource === 'ingresses/status' && r.verb === 'patch').length;
    ctx.log(`  Portico ready in ${readyMs.toFixed(0)} ms; ${statusWrites()} Ingress status writes at start`);

    const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices/target-1`;
    const ingressesPath = `/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/ingresses`;
    const secretPath = `/api/v1/namespaces/${NAMESPACE}/secrets/rotated`;
    const samples: Record<ConvergenceRow['change'], Sample[]> = { endpoint: [], 'new-ingress': [], certificate: [], annotation: [] };
    const writeMs: number[] = [];
    const timeWrite = (method: string, path: string, body: unknown, check: () => Promise<boolean>): Promise<Sample> => timeApiWrite(ctx, portico, writer, writeMs, method, path, body, check);
    for (let r = 0; r < c.repetitions; r++) {
      const echo = ECHO_ADDRESSES[(r + 1) % ECHO_ADDRESSES.length]!;
      // As the EndpointSlice controller does: a PUT of the whole slice.
      const slice = sliceObj({ name: 'target-1', service: 'target', port, addresses: [echo] });
      samples.endpoint.push(await timeWrite('PUT', slicePath, slice, async () => (await httpGet(portico.httpPort, EP_HOST)).body === echo));

      // As `kubectl create -f`: a POST of a new Ingress for a new host, routed to an existing Service.
      const host = `new-${r}.convergence.example`;
      const ing = ingressObj({ name: `new-${r}`, host, service: 'target' });
      samples['new-ingress'].push(await timeWrite('POST', ingressesPath, ing, async () => (await httpGet(portico.httpPort, host)).status !== 404));

      // As cert-manager renewing a certificate: a PUT of the kubernetes.io/tls Secret.
      const cert = certs[r + 1]!;
      samples.certificate.push(await timeWrite('PUT', secretPath, secretObj('rotated', cert), async () => (await tlsFingerprint(portico.httpsPort, TLS_HOST)) === cert.fingerprint256));

      // As `kubectl annotate --overwrite` (or an apply that changes one annotation): a PUT of the Ingress.
      samples.annotation.push(await timeWrite('PUT', `${ingressesPath}/redirect`, redirecting(r + 1), async () => (await httpGet(portico.httpPort, REDIRECT_HOST)).location === redirectUrl(r + 1)));
    }
    ctx.log(`  API writes answered after p50 ${percentile(writeMs, 50).toFixed(1)} ms, max ${Math.max(...writeMs).toFixed(1)} ms (included in the times below)`);
    return (Object.keys(samples) as ConvergenceRow['change'][]).map((change) => summarise(ctx, 'api', size, change, samples[change]));
  } finally {
    await p?.stop();
    writer.close();
    await api.close();
  }
}

async function timeApiWrite(ctx: Context, p: PorticoProcess, writer: ApiWriter, writeMs: number[], method: string, path: string, body: unknown, check: () => Promise<boolean>): Promise<Sample> {
  const c = ctx.s.convergence;
  if (p.child.hasExited) throw new Error(`Portico exited: ${p.child.tail()}`);
  // Outside the clock: make sure the kept-alive connection is open, so the write does not pay a TLS handshake.
  // The server may close an idle connection just as it is reused: one retry.
  await writer.send('GET', '/version').catch(() => writer.send('GET', '/version'));
  const before = await applyCounters(p.adminPort);
  const t0 = performance.now();
  const res = await writer.send(method, path, body);
  writeMs.push(performance.now() - t0);
  if (res.status !== 200 && res.status !== 201) throw new Error(`${method} ${path} answered ${res.status}: ${res.text.slice(0, 500)}`);
  const ms = await pollUntil(check, t0, c.pollIntervalMs, c.timeoutMs);
  const after = await settle(p, before);
  return { ms, reloads: after.reloads - before.reloads, runtimeUpdates: after.runtimeUpdates - before.runtimeUpdates };
}
