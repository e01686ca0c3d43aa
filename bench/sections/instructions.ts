// Instructions HAProxy executes per request, counted by valgrind's callgrind: the same count on every run, where CPU
// time on this shared machine swings by tens of percent between runs. It answers what the data-plane ratio cannot:
// how much of Portico's cost over the minimal hand-written HAProxy is the headers every Ingress controller adds
// (spec rule X9), how much is Portico's own routing, and what each family of Portico's per-request rules costs
// (its configuration with that family taken out). The configurations compared differ in nothing else.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { instructionsPerRequest } from '../lib/callgrind.js';
import { startChild } from '../lib/processes.js';
import { waitForPort } from '../lib/probes.js';
import { treeCpuMicros, treeUserCpuMicros } from '../lib/proc-stats.js';
import { freePort } from '../../test/e2e/harness/ports.js';
import { runWrk, writeWrkScript } from '../load/wrk.js';
import { fleetHost } from '../manifests/fleet.js';
import { ORIGIN_ADDRESSES } from '../peers/backend.js';
import { haproxyRequiredHeaders, haproxySameWork } from '../peers/forwarded-headers.js';
import type { Listener } from '../peers/forwarded-headers.js';
import { writeHandwrittenConfig } from '../peers/haproxy-handwritten.js';
import { porticoCountSetup, porticoGeneratedConfig } from '../peers/portico-config.js';
import type { PorticoCountSetup } from '../peers/portico-config.js';
import { EDGE_FAMILIES, FAMILY_LABELS, RULE_FAMILIES, withoutFamilies } from '../peers/portico-rule-families.js';
import type { RuleFamily } from '../peers/portico-rule-families.js';
import type { Routes } from '../peers/routes.js';
import type { FeatureCostRow, InstructionsResult, InstructionsRow, RuleCostRow } from '../report/types.js';
import { RATIO_TARGET } from './data-plane.js';
import type { Context as DataPlaneContext } from './data-plane.js';

/** What the data-plane section gets, less the peer table this section does not fill. */
type Context = Omit<DataPlaneContext, 'peerInfo'>;

/** Issue 10: Portico's per-request edge rules together may add at most this much to a plain request's count. */
export const EDGE_BUDGET = 0.1;

export async function runInstructions(ctx: Context): Promise<InstructionsResult> {
  const dir = join(ctx.workDir, 'instructions');
  await mkdir(dir, { recursive: true });
  // Portico's configuration and the fixed origin every configuration here forwards to (its answer is part of what
  // HAProxy does per request, so all get the same one).
  const portico = await porticoCountSetup(join(dir, 'portico'));
  try {
    const count = (label: string, file: string, requests = ctx.s.instructions.requests, connectionPerRequest = false, readRing = false): Promise<number> => {
      ctx.log(`instructions: ${label}`);
      return instructionsPerRequest({ cfg: file, port: portico.port, host: portico.host, requests, outFile: join(dir, label.replace(/[^a-z0-9]+/gi, '-')), connectionPerRequest, readRing });
    };
    const rows = await configurationRows(ctx, dir, portico, count);
    const ruleCosts = await ruleCostRows(ctx, dir, portico, rows.find((r) => r.config === 'portico')!.perRequest, count);
    const featureCosts = await featureCostRows(ctx, dir);
    const userShare = await handwrittenUserShare(ctx, dir);
    const base = rows[0]!.perRequest;
    for (const r of rows) {
      r.ratio = r.perRequest / base;
      r.impliedThroughputRatio = 1 / (userShare * r.ratio + (1 - userShare));
    }
    ctx.log(`instructions: ${rows.map((r) => `${r.config} ${Math.round(r.perRequest)}`).join(', ')}; hand-written user share ${(userShare * 100).toFixed(0)}%`);
    ctx.log(`instructions, rule costs: ${ruleCosts.map((r) => `${r.family}${r.connectionPerRequest ? ' (new connection per request)' : ''} ${Math.round(r.cost)}`).join(', ')}`);
    const full = rows.find((r) => r.config === 'portico')!.perRequest;
    const withoutEdge = ruleCosts.find((r) => r.family === 'edge')!.without;
    ctx.log(`instructions, annotation families: ${featureCosts.map((r) => `${r.family}: plain route beside it ${Math.round(r.plainBeside)}, the route itself ${Math.round(r.using)}`).join('; ')}`);
    return { rows, userShare, target: RATIO_TARGET, ruleCosts, featureCosts, edgeBudget: { full, withoutEdge, added: full / withoutEdge - 1, budget: EDGE_BUDGET, pass: full / withoutEdge - 1 <= EDGE_BUDGET } };
  } finally {
    await portico.close();
  }
}

type Count = (label: string, file: string, requests?: [number, number], connectionPerRequest?: boolean, readRing?: boolean) => Promise<number>;

/** Issue 11's annotation families, each with the annotations one Ingress carries to use it, and the status it gets. */
const FEATURE_FAMILIES: { family: string; annotations: Record<string, string>; status: number }[] = [
  // The baseline: the same two Ingresses, neither annotated.
  { family: 'none', annotations: {}, status: 200 },
  { family: 'redirect (permanent-redirect)', annotations: { 'nginx.ingress.kubernetes.io/permanent-redirect': 'https://example.com/' }, status: 301 },
  { family: 'timeouts (proxy-read-timeout)', annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '30' }, status: 200 },
  { family: 'body limit (proxy-body-size)', annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '10m' }, status: 200 },
  { family: 'upstream Host (upstream-vhost)', annotations: { 'nginx.ingress.kubernetes.io/upstream-vhost': 'backend.internal' }, status: 200 },
  // The counting client connects from loopback, inside the list.
  { family: 'access list (allowlist-source-range)', annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '10.0.0.0/8, 127.0.0.0/8' }, status: 200 },
  // The default origin list, `*`: every response of the route gets the Access-Control-* headers, Origin or not, so the
  // request without an Origin that the count sends still takes every CORS rule (the costliest case).
  { family: 'CORS (enable-cors, any origin)', annotations: { 'nginx.ingress.kubernetes.io/enable-cors': 'true' }, status: 200 },
  // The route's path `/` becomes the expression `^/`, tried in paths-regex.map, and every request is rewritten (Lua).
  { family: 'rewrite (rewrite-target)', annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/app' }, status: 200 },
  // One response header set on every status: a map lookup by route id and name, decoded into the header.
  { family: 'snippet (more_set_headers)', annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'more_set_headers "X-Frame-Options: DENY";' }, status: 200 },
  // The snippets real manifests carry with nginx variables: one map lookup for the route's templates, the Lua action
  // that expands them, and a rule per header reading its variable.
  {
    family: 'snippet with nginx variables (proxy_set_header $host, more_set_headers $request_id)',
    annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'proxy_set_header X-Original-Host $host;\nmore_set_headers "X-Request-Id: $request_id";' },
    status: 200,
  },
  { family: 'snippet return with nginx variables (return 301 https://$host$request_uri)', annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 301 https://$host$request_uri;' }, status: 301 },
  // A request without the cookie: balanced by the sticky backend, and the Lua action writes the Set-Cookie.
  { family: 'affinity (affinity: cookie)', annotations: { 'nginx.ingress.kubernetes.io/affinity': 'cookie' }, status: 200 },
  // Persistent mode: the cookie's pod is looked up by name, then the response rules name the pod that answered.
  { family: 'affinity, persistent (affinity-mode: persistent)', annotations: { 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/affinity-mode': 'persistent' }, status: 200 },
  { family: 'connection-proxy-header: close', annotations: { 'nginx.ingress.kubernetes.io/connection-proxy-header': 'close' }, status: 200 },
  // The bench's origin sends neither Location nor Set-Cookie: the common case, in which the Lua action never starts
  // (its cost when a cookie is rewritten is in bench/README.md).
  { family: 'response rewrites (proxy-redirect-from/-to, proxy-cookie-path), no header to rewrite', annotations: { 'nginx.ingress.kubernetes.io/proxy-redirect-from': 'http://internal/', 'nginx.ingress.kubernetes.io/proxy-redirect-to': 'https://example.com/', 'nginx.ingress.kubernetes.io/proxy-cookie-path': '/app /' }, status: 200 },
  // Every rate-limit rule at once (both buckets, the connection count, an allowlist the counting client is outside of),
  // with limits the count never reaches: the costliest case short of a refusal.
  {
    family: 'rate limits (limit-rps, limit-rpm, limit-connections, limit-allowlist)',
    annotations: {
      'nginx.ingress.kubernetes.io/limit-rps': '100000',
      'nginx.ingress.kubernetes.io/limit-rpm': '1000000',
      'nginx.ingress.kubernetes.io/limit-burst-multiplier': '100',
      'nginx.ingress.kubernetes.io/limit-connections': '1000',
      'nginx.ingress.kubernetes.io/limit-allowlist': '10.0.0.0/8',
    },
    status: 200,
  },
];

/**
 * Each family in a configuration of two Ingresses, the second carrying its annotations: a request on the first (what
 * the family's rules cost every other route once some route uses it) and on the second (the route that uses it).
 */
async function featureCostRows(ctx: Context, dir: string): Promise<FeatureCostRow[]> {
  const rows: FeatureCostRow[] = [];
  for (const [i, f] of FEATURE_FAMILIES.entries()) {
    const name = f.family.replace(/[^a-z0-9]+/gi, '-');
    // A short directory: HAProxy's unix sockets (the body gate's) live under it, and their paths may not exceed 97.
    const setup = await porticoCountSetup(join(dir, `f${i}`), { count: 2, annotations: (n) => (n === 1 && Object.keys(f.annotations).length > 0 ? f.annotations : undefined) });
    try {
      const count = (host: number, expectStatus: number): Promise<number> => {
        ctx.log(`instructions: ${f.family}, route ${host}`);
        return instructionsPerRequest({ cfg: setup.file, port: setup.port, host: fleetHost(host), requests: ctx.s.instructions.requests, outFile: join(dir, `feature-${name}-${host}`), expectStatus });
      };
      rows.push({ family: f.family, annotations: f.annotations, plainBeside: await count(0, 200), using: await count(1, f.status) });
    } finally {
      await setup.close();
    }
  }
  return rows;
}

/** The minimal hand-written HAProxy, the same plus the headers X9 requires, plus all Portico sends, and Portico. */
async function configurationRows(ctx: Context, dir: string, portico: PorticoCountSetup, count: Count): Promise<InstructionsRow[]> {
  const routes: Routes = { hosts: [fleetHost(0)], origins: portico.origin.endpoints };
  const httpsPort = await freePort();
  const handwritten = async (name: string, frontendExtras: (l: Listener) => string[]): Promise<string> => {
    const sub = join(dir, name);
    await mkdir(sub, { recursive: true });
    return (await writeHandwrittenConfig({ dir: sub, routes, cert: ctx.cert, httpPort: portico.port, httpsPort, frontendExtras })).file;
  };
  const configs: [InstructionsRow['config'], string][] = [
    ['haproxy', await handwritten('minimal', () => [])],
    ['haproxy + X9 required headers', await handwritten('x9', haproxyRequiredHeaders)],
    ['haproxy + the headers Portico sends', await handwritten('x9-all', haproxySameWork)],
    ['portico', portico.file],
    // The access log's cost (issue 13): the same Ingress with `--access-log off`, which leaves HAProxy's log lines out
    // (the header captures, the request id capture, the log-format line written into the ring).
    ['portico, access log off', await porticoWithoutAccessLog(dir, portico)],
  ];
  const rows: InstructionsRow[] = [];
  for (const [config, file] of configs) rows.push({ config, perRequest: await count(config, file) });
  // And with the ring read as Portico reads it (a `show events -w` session): one request at a time is its worst case,
  // a wake-up of the reader per line; under load it hands over dozens of lines a wake-up (the CPU a/b section).
  rows.push({ config: 'portico, its ring read', perRequest: await count('portico, its ring read', portico.file, undefined, false, true) });
  return rows;
}

/** Portico's configuration for the same Ingress and listener with `--access-log off`, runnable alone. */
async function porticoWithoutAccessLog(dir: string, portico: PorticoCountSetup): Promise<string> {
  const sub = join(dir, 'portico-access-log-off');
  await mkdir(sub, { recursive: true });
  const cfg = await porticoGeneratedConfig({ dir: sub, addresses: ORIGIN_ADDRESSES, port: portico.origin.port, httpPort: portico.port, httpsPort: await freePort(), args: ['--access-log', 'off'] });
  return cfg.file;
}

/**
 * Portico's configuration without each family of per-request rules, then without all the edge families at once (the
 * count before issue 10's rules, measured on today's configuration). Connection tracking works once per connection,
 * so it is also counted with a new connection for every request, where its whole cost shows.
 */
async function ruleCostRows(ctx: Context, dir: string, portico: PorticoCountSetup, full: number, count: Count): Promise<RuleCostRow[]> {
  // The runnable copy (no master-worker), which is what every count runs.
  const runnable = await readFile(portico.file, 'utf8');
  const variant = async (name: string, families: readonly RuleFamily[]): Promise<string> => {
    const file = join(dir, `portico-without-${name}.cfg`);
    await writeFile(file, withoutFamilies(runnable, families));
    return file;
  };
  const rows: RuleCostRow[] = [];
  for (const family of RULE_FAMILIES) {
    const without = await count(`portico without ${family}`, await variant(family, [family]));
    rows.push({ family, label: FAMILY_LABELS[family], without, cost: full - without, connectionPerRequest: false });
  }
  const withoutEdge = await count('portico without the edge families', await variant('edge', EDGE_FAMILIES));
  rows.push({ family: 'edge', label: `all of issue 10's edge rules (${EDGE_FAMILIES.join(', ')})`, without: withoutEdge, cost: full - withoutEdge, connectionPerRequest: false });
  const [few, many] = ctx.s.instructions.requests;
  // Fewer requests: each costs a connection, and a new connection per request is several times a kept-alive request.
  const perConnection: [number, number] = [Math.round(few / 2), Math.round(many / 2)];
  const fullPerConnection = await count('portico, new connection per request', portico.file, perConnection, true);
  const noTracking = await count('portico without connections, new connection per request', await variant('connections', ['connections']), perConnection, true);
  rows.push({ family: 'connections', label: `${FAMILY_LABELS.connections}, a new connection per request`, without: noTracking, cost: fullPerConnection - noTracking, connectionPerRequest: true, full: fullPerConnection });
  return rows;
}

/** Share of the minimal hand-written HAProxy's CPU time spent in user space under load: the part a configuration
 * changes. Measured natively against the bench's nginx origin, which can take wrk's load. */
async function handwrittenUserShare(ctx: Context, dir: string): Promise<number> {
  const host = fleetHost(0);
  const sub = join(dir, 'user-share');
  await mkdir(sub, { recursive: true });
  const [port, httpsPort] = [await freePort(), await freePort()];
  const routes: Routes = { hosts: [host], origins: ORIGIN_ADDRESSES.map((a) => `${a}:${ctx.backend.port}`) };
  const { file } = await writeHandwrittenConfig({ dir: sub, routes, cert: ctx.cert, httpPort: port, httpsPort });
  const child = startChild('haproxy-user-share', 'haproxy', ['-db', '-f', file], { cpus: ctx.s.proxyCpus });
  try {
    await waitForPort(port, 60_000, 'hand-written HAProxy', '127.0.0.1', child);
    const script = await writeWrkScript(sub, 'one-host', [host]);
    const url = `http://127.0.0.1:${port}/`;
    const d = ctx.s.dataPlane;
    await runWrk({ url, script, connections: 64, durationS: d.warmupS, cpus: ctx.s.loadCpus });
    const [all0, user0] = [treeCpuMicros(child.pid), treeUserCpuMicros(child.pid)];
    await runWrk({ url, script, connections: 64, durationS: d.durationS, cpus: ctx.s.loadCpus });
    return (treeUserCpuMicros(child.pid) - user0) / (treeCpuMicros(child.pid) - all0);
  } finally {
    await child.stop();
  }
}
