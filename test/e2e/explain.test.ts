// explain against what actually serves: Portico over a broad mix of Ingresses (exact hosts, a wildcard, rules without
// host, Prefix, Exact and regex paths, a rewrite, a redirect, a canary by header, an access list, a default backend,
// an Ingress of another class), and for every request of a list, the answer of `bin/portico explain` and of the
// running Portico's /debug/explain must be what the client gets through HAProxy: the echo pod that answers and the
// path it receives, or the status and Location. --debug-headers must name the same route and Service; a live change
// of a path's Service shows in /debug/explain and in the headers without a reload; --debug-endpoints=false removes
// /debug/explain, and without --debug-headers no response names a route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docs, httpGet, httpsGet, ingress, makeCert, tlsSecretYaml, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';
import type { Explanation } from '../../src/explain/index.js';
import { readFile } from 'node:fs/promises';
import { startApiServer } from '../kube-apiserver/server.js';
import { rbacFiles } from './harness/index.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'bin', 'portico');
const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const routes = (apiService = 'ex-api'): string =>
  docs(
    ingress({
      name: 'main',
      rules: [
        {
          host: 'app.test',
          paths: [
            { path: '/', pathType: 'Prefix', service: 'ex-root', port: 80 },
            { path: '/api', pathType: 'Prefix', service: apiService, port: 80 },
            { path: '/api/exact', pathType: 'Exact', service: 'ex-exact', port: 80 },
          ],
        },
      ],
    }),
    ingress({ name: 'api-canary', annotations: { [`${P}canary`]: 'true', [`${P}canary-by-header`]: 'X-Canary' }, rules: [{ host: 'app.test', paths: [{ path: '/api', pathType: 'Prefix', service: 'ex-canary', port: 80 }] }] }),
    ingress({ name: 'wild', rules: [{ host: '*.wild.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ex-wild', port: 80 }] }] }),
    ingress({ name: 'any', rules: [{ paths: [{ path: '/any', pathType: 'Prefix', service: 'ex-any', port: 80 }] }] }),
    ingress({ name: 'rw', annotations: { [`${P}rewrite-target`]: '/$2' }, rules: [{ host: 'rw.test', paths: [{ path: '/svc(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'ex-rewrite', port: 80 }] }] }),
    ingress({ name: 'redir', annotations: { [`${P}permanent-redirect`]: 'https://elsewhere.example/' }, rules: [{ host: 'redir.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ex-root', port: 80 }] }] }),
    ingress({ name: 'acl', annotations: { [`${P}allowlist-source-range`]: '10.0.0.0/8' }, rules: [{ host: 'acl.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ex-root', port: 80 }] }] }),
    ingress({ name: 'dflt', defaultBackend: { service: 'ex-default', port: 80 }, rules: [{ host: 'dflt.test', paths: [{ path: '/only', pathType: 'Exact', service: 'ex-root', port: 80 }] }] }),
    ingress({ name: 'secure', tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }], rules: [{ host: 'secure.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ex-root', port: 80 }] }] }),
    ingress({ name: 'approot', annotations: { [`${P}app-root`]: '/home' }, rules: [{ host: 'approot.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ex-root', port: 80 }] }] }),
    ingress({ name: 'other-class', className: 'nginx', rules: [{ host: 'app.test', paths: [{ path: '/api/other', pathType: 'Prefix', service: 'ex-any', port: 80 }] }] }),
  );

before(async () => {
  dir = await manifestDir();
  const apps = [];
  for (const [i, name] of ['ex-root', 'ex-api', 'ex-exact', 'ex-wild', 'ex-any', 'ex-canary', 'ex-rewrite', 'ex-default'].entries()) apps.push(await singlePodApp(pods, name, `127.0.193.${i + 1}`));
  await writeManifest(dir, 'apps.yaml', docs(...apps, tlsSecretYaml('default', 'secure-tls', makeCert({ dnsNames: ['secure.test'], keyFormat: 'pkcs8' }))));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--debug-headers'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

interface Case {
  url: string;
  headers?: Record<string, string>;
}

const CASES: Case[] = [
  { url: 'http://app.test/' },
  { url: 'http://app.test/api/items?x=1' },
  { url: 'http://app.test/api/exact' },
  { url: 'http://app.test/api/exact/' },
  { url: 'http://app.test/apix' },
  { url: 'http://app.test/api/other/thing' },
  { url: 'http://app.test/api/x', headers: { 'X-Canary': 'always' } },
  { url: 'http://app.test/api/x', headers: { 'X-Canary': 'never' } },
  { url: 'http://APP.test:1234/api//./items/../list' },
  { url: 'http://a.wild.test/x' },
  { url: 'http://a.b.wild.test/any/x' },
  { url: 'http://a.b.wild.test/zzz' },
  { url: 'http://nohost.test/any' },
  { url: 'http://rw.test/svc/deep/path?q=1' },
  { url: 'http://rw.test/svc' },
  { url: 'http://rw.test/SVC/Deep' },
  { url: 'http://redir.test/x' },
  { url: 'http://acl.test/' },
  { url: 'http://dflt.test/other' },
  { url: 'http://dflt.test/only' },
  { url: 'http://app.test/a%2fb' },
  { url: 'http://secure.test/x/?q=1' },
  { url: 'http://secure.test/x/' },
  { url: 'http://secure.test/.well-known/acme-challenge/token' },
  { url: 'http://approot.test/' },
  { url: 'http://approot.test/other' },
];

/** What a client sees, in the terms explain predicts: the pod and the path it got, or Portico's own answer. */
type Seen = { pod: string; path: string } | { status: number; location?: string };

function split(url: string): { host: string; path: string } {
  const m = /^http:\/\/([^/]+)(.*)$/.exec(url)!;
  return { host: m[1]!, path: m[2] === '' ? '/' : m[2]! };
}

async function seen(c: Case): Promise<{ seen: Seen; route?: string; service?: string }> {
  const { host, path } = split(c.url);
  const r = await httpGet(portico.httpPort, { host, path, headers: c.headers ?? {} });
  const one = (name: string): string | undefined => {
    const v = r.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const route = one('x-portico-route');
  const service = one('x-portico-service');
  const location = one('location');
  const debug = { ...(route !== undefined ? { route } : {}), ...(service !== undefined ? { service } : {}) };
  if (r.status === 200) {
    const e = r.json<EchoReply>();
    return { seen: { pod: e.pod, path: e.path }, ...debug };
  }
  return { seen: { status: r.status, ...(location !== undefined ? { location } : {}) }, ...debug };
}

function predicted(e: Explanation): Seen {
  if (e.outcome === 'routed') return { pod: e.backend!.service.split('/')[1]!, path: e.upstreamPath! };
  return { status: e.status!, ...(e.location !== undefined ? { location: e.location } : {}) };
}

function headerArgs(c: Case): string[] {
  return Object.entries(c.headers ?? {}).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

async function debugExplain(c: Case, port = portico.adminPort): Promise<{ status: number; body: string }> {
  const q = new URLSearchParams({ url: c.url, client: '127.0.0.1' });
  for (const [k, v] of Object.entries(c.headers ?? {})) q.append('header', `${k}: ${v}`);
  const r = await httpGet(port, { path: `/debug/explain?${q.toString()}` });
  return { status: r.status, body: r.body };
}

describe('explain equals what serves the request', () => {
  for (const c of CASES) {
    test(`${c.url}${c.headers ? ` ${JSON.stringify(c.headers)}` : ''}`, async () => {
      const actual = await seen(c);
      const cli = await runCli(['explain', '--manifests', dir, c.url, '--client', '127.0.0.1', '--output', 'json', ...headerArgs(c)]);
      const fromCli = JSON.parse(cli.stdout) as Explanation;
      assert.deepEqual(predicted(fromCli), actual.seen, `bin/portico explain: ${cli.stdout}`);
      assert.equal(cli.code, fromCli.outcome === 'not-found' || fromCli.outcome === 'bad-request' ? 1 : 0);
      const live = await debugExplain(c);
      assert.equal(live.status, 200, live.body);
      const fromLive = JSON.parse(live.body) as Explanation;
      assert.deepEqual(predicted(fromLive), actual.seen, `/debug/explain: ${live.body}`);
      assert.deepEqual(fromLive.route, fromCli.route);
      // --debug-headers: the route and Service that served, as explain names them; none where no route served.
      // Portico's own answers on a route (a redirect, a refusal) carry the route too: HAProxy's after-response rules
      // see them.
      if (fromLive.route) {
        const r = fromLive.route;
        assert.equal(actual.route, `${r.ingress} ${fromLive.hostGroup ?? '*catch-all*'}${r.ingressPath ?? ''}`);
      }
      if (fromLive.outcome === 'routed') assert.equal(actual.service, `${fromLive.backend!.service}:${fromLive.backend!.port}`);
      if (!fromLive.route) assert.equal(actual.route, undefined);
    });
  }

  test('the text form names the rules, the canary decision and the candidates', async () => {
    const cli = await runCli(['explain', '--manifests', dir, 'http://app.test/api/other/x', '--header', 'X-Canary: always']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /\[H2\] Host "app\.test": exact host group app\.test/);
    assert.match(cli.stdout, /\[P10\] Prefix path \/api is the longest/);
    assert.match(cli.stdout, /canary Ingress default\/api-canary: header x-canary: always: the canary/);
    assert.match(cli.stdout, /Ingress default\/other-class rule 0 path 0 .*\[C\d\]: not Portico's: IngressClass nginx/);
    assert.match(cli.stdout, /Ingress default\/main rule 0 path 0 .*\[P10\]/);
  });

  test('exit status: 1 for a 404, 2 without a URL or with a bad one', async () => {
    assert.equal((await runCli(['explain', '--manifests', dir, 'http://nothing.invalid/zzz'])).code, 1);
    assert.equal((await runCli(['explain', '--manifests', dir])).code, 2);
    assert.equal((await runCli(['explain', '--manifests', dir, 'ftp://x/'])).code, 2);
    assert.equal((await runCli(['explain', '--manifests', dir, 'http://x/', '--header', 'bad header'])).code, 2);
  });

  test('/debug/explain refuses what is not a request, and a hostile URL leaves Portico serving', async () => {
    assert.equal((await httpGet(portico.adminPort, { path: '/debug/explain' })).status, 400);
    assert.equal((await httpGet(portico.adminPort, { path: `/debug/explain?url=${encodeURIComponent('http://app.test/\n"#{x}')}` })).status, 200);
    // Beyond 16 kB the admin listener's HTTP parser refuses the request line itself (431); below, explain's own bound.
    assert.ok([400, 431].includes((await httpGet(portico.adminPort, { path: `/debug/explain?url=${encodeURIComponent(`http://app.test/${'a'.repeat(20_000)}`)}` })).status));
    assert.equal((await httpGet(portico.adminPort, { path: `/debug/explain?url=${encodeURIComponent('http://app.test/')}&method=${encodeURIComponent('GET\r\nX: y')}` })).status, 400);
    assert.deepEqual((await seen({ url: 'http://app.test/' })).seen, { pod: 'ex-root', path: '/' });
  });
});

describe('certificates', () => {
  test('the certificate explain names is the one the handshake presents (T4.1 exact, T4.4 default)', async () => {
    const named = JSON.parse((await debugExplain({ url: 'https://secure.test/' })).body) as Explanation;
    assert.equal(named.certificate?.secret, 'default/secure-tls');
    assert.deepEqual(named.certificate?.dnsNames, ['secure.test']);
    const r = await httpsGet(portico.httpsPort, { host: 'secure.test', servername: 'secure.test', path: '/' });
    assert.equal(r.cert.subjectaltname, 'DNS:secure.test');
    const other = JSON.parse((await debugExplain({ url: 'https://app.test/' })).body) as Explanation;
    assert.equal(other.certificate?.certificate, 'default');
    assert.equal(other.certificate?.rule, 'T4.4');
    const d = await httpsGet(portico.httpsPort, { host: 'app.test', servername: 'app.test', path: '/' });
    assert.notEqual(d.cert.subjectaltname, 'DNS:secure.test');
    assert.equal(d.status, 200);
  });
});

describe('a live change', () => {
  test("a path's Service changes: /debug/explain and X-Portico-Service follow, without a reload", async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('ex-exact'));
    await waitFor(async () => ((await seen({ url: 'http://app.test/api/items' })).seen as { pod?: string }).pod === 'ex-exact', { timeoutMs: 10_000, message: 'the new Service never served' });
    const live = JSON.parse((await debugExplain({ url: 'http://app.test/api/items' })).body) as Explanation;
    assert.equal(live.backend?.service, 'default/ex-exact');
    assert.equal((await seen({ url: 'http://app.test/api/items' })).service, 'default/ex-exact:80');
    assert.equal(await reloadCount(portico.adminPort), reloads, 'a route changing Service is a map update');
  });
});

describe('switched off', () => {
  test('--debug-endpoints=false: /debug/explain is 404; without --debug-headers no response names its route', async () => {
    const quiet = await startPortico({ manifests: dir, args: ['--debug-endpoints=false'] });
    await quiet.waitReady();
    assert.equal((await httpGet(quiet.adminPort, { path: '/debug/explain?url=http://app.test/' })).status, 404);
    const r = await httpGet(quiet.httpPort, { host: 'app.test', path: '/' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-portico-route'], undefined);
    assert.equal(r.headers['x-portico-service'], undefined);
    await quiet.stop();
  });
});

describe('portico explain --kubeconfig', () => {
  test('the same objects read from the API give the same answers as from the manifests', async () => {
    const token = 'explain-token';
    const api = await startApiServer({ token, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
    try {
      const kubeconfig = api.kubeconfig(join(await manifestDir(), 'kubeconfig'), { token });
      // The manifest mode's implicit IngressClass has to exist for real in a cluster.
      api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'portico.dev/ingress-controller' } });
      for (const file of ['apps.yaml', 'routes.yaml']) {
        const parsed = parseManifestText(await readFile(join(dir, file), 'utf8'));
        assert.ok(parsed.ok);
        for (const o of parsed.objects) api.create(o);
      }
      for (const c of [CASES[1]!, CASES[6]!, CASES[11]!, CASES[13]!]) {
        const fromApi = await runCli(['explain', '--kubeconfig', kubeconfig, c.url, '--client', '127.0.0.1', '--output', 'json', ...headerArgs(c)]);
        const fromFiles = await runCli(['explain', '--manifests', dir, c.url, '--client', '127.0.0.1', '--output', 'json', ...headerArgs(c)]);
        assert.equal(fromApi.code, fromFiles.code, fromApi.stderr);
        const a = JSON.parse(fromApi.stdout) as Explanation;
        const f = JSON.parse(fromFiles.stdout) as Explanation;
        assert.deepEqual(predicted(a), predicted(f), c.url);
        assert.deepEqual(a.route, f.route);
      }
    } finally {
      await api.close().catch(() => undefined);
    }
  });
});
