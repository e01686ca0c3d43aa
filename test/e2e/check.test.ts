// `portico check` as a user runs it: the real bin/portico over a generated corpus of ingress-nginx manifests, from
// files, from standard input (`kubectl get ingress -A -o yaml | portico check --manifests -`) and from the Kubernetes
// API stand-in. Judged against what each annotation of the corpus was made to be (honoured, a typo, an invalid value,
// unsupported), the findings inside a ConfigMap an annotation names, the documented JSON shape, the exit status, and
// standard output holding nothing but the report.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { rbacFiles } from './harness/index.js';
import { corpusObjects, ingressNginxCorpus } from './harness/ingress-nginx-corpus.js';
import type { Corpus } from './harness/ingress-nginx-corpus.js';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'bin', 'portico');
const STATUSES = ['supported', 'partial', 'ignored', 'unsupported', 'unknown', 'invalid'];
const TOKEN = 'check-token';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function portico(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

interface Report {
  ingresses: { namespace: string; name: string; served: boolean; annotations: { key: string; value: string; status: string; note: string }[]; diagnostics: { field: string; rule: string; message: string }[] }[];
  configmap: unknown[];
  summary: { ingresses: number; annotations: number; byStatus: Record<string, number> };
}

const parseYaml = (text: string): unknown[] => parseAllDocuments(text, { merge: true }).map((d) => d.toJS() as unknown);

let corpus: Corpus;
let dir = '';
let api: ApiServer;
let kubeconfig = '';

before(async () => {
  corpus = ingressNginxCorpus(20261207, 30);
  dir = await mkdtemp(join(tmpdir(), 'portico-check-'));
  for (const [file, text] of corpus.files) {
    await mkdir(join(dir, 'corpus', dirname(file)), { recursive: true });
    await writeFile(join(dir, 'corpus', file), text);
  }
  api = await startApiServer({ token: TOKEN, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
  kubeconfig = api.kubeconfig(join(dir, 'kubeconfig'), { token: TOKEN });
  for (const o of corpusObjects(corpus, parseYaml)) api.create(o);
});

after(async () => {
  await api.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Every corpus annotation's status against what it was made to be; every Ingress's served flag. */
function assertMatchesCorpus(r: Report, only?: (ns: string) => boolean): void {
  const want = corpus.ingresses.filter((i) => !only || only(i.namespace));
  assert.deepEqual(r.ingresses.map((i) => `${i.namespace}/${i.name}`).sort(), want.map((i) => `${i.namespace}/${i.name}`).sort());
  for (const w of want) {
    const got = r.ingresses.find((i) => i.namespace === w.namespace && i.name === w.name)!;
    const where = `${w.namespace}/${w.name}`;
    assert.equal(got.served, w.served, `${where} served`);
    for (const a of w.annotations) {
      const row = got.annotations.find((x) => x.key === a.key);
      assert.ok(row, `${where}: no row for ${a.key}`);
      const ok = a.intent === 'honoured' ? ['supported', 'partial', 'ignored'].includes(row.status) : row.status === a.intent;
      assert.ok(ok, `${where} ${a.key}=${JSON.stringify(a.value)}: ${row.status} (${row.note}), made to be ${a.intent}`);
      if (a.mentions !== undefined) assert.ok(row.note.includes(a.mentions), `${where} ${a.key}: the note does not name ${a.mentions}: ${row.note}`);
      if (row.status !== 'supported') assert.notEqual(row.note, '', `${where} ${a.key}: a ${row.status} row needs a note`);
    }
    // Keys outside ingress-nginx's and Portico's prefixes (a chart's labels merged in) are not rows.
    assert.ok(got.annotations.every((x) => x.key.startsWith('nginx.ingress.kubernetes.io/') || x.key.startsWith('portico.dev/')), where);
  }
}

function assertShape(r: Report): void {
  assert.deepEqual(Object.keys(r), ['ingresses', 'configmap', 'summary']);
  for (const i of r.ingresses) {
    assert.deepEqual(Object.keys(i), ['namespace', 'name', 'served', 'annotations', 'diagnostics']);
    for (const a of i.annotations) {
      assert.deepEqual(Object.keys(a), ['key', 'value', 'status', 'note']);
      assert.ok(STATUSES.includes(a.status), a.status);
      assert.equal(typeof a.value, 'string');
    }
    for (const d of i.diagnostics) assert.deepEqual(Object.keys(d), ['field', 'rule', 'message']);
  }
  assert.deepEqual(Object.keys(r.summary), ['ingresses', 'annotations', 'byStatus']);
  assert.deepEqual(Object.keys(r.summary.byStatus), STATUSES);
  const rows = r.ingresses.flatMap((i) => i.annotations);
  assert.equal(r.summary.ingresses, r.ingresses.length);
  assert.equal(r.summary.annotations, rows.length);
  for (const s of STATUSES) assert.equal(r.summary.byStatus[s], rows.filter((a) => a.status === s).length, s);
}

describe('portico check --manifests', () => {
  test('JSON: the documented shape, every annotation classified as the corpus made it, exit 1 (something is lost)', async () => {
    const run = await portico(['check', '--manifests', join(dir, 'corpus'), '--output', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const r = JSON.parse(run.stdout) as Report;
    assertShape(r);
    assertMatchesCorpus(r);
    for (const s of ['unknown', 'invalid', 'unsupported', 'partial']) assert.ok(r.summary.byStatus[s]! > 0, `the corpus holds no ${s} row`);
  });

  test('a snippet Portico does not translate is reported directive by directive', async () => {
    const run = await portico(['check', '--manifests', join(dir, 'corpus'), '--output', 'json']);
    const rows = (JSON.parse(run.stdout) as Report).ingresses.flatMap((i) => i.annotations).filter((a) => a.key.endsWith('/configuration-snippet'));
    const refused = rows.filter((a) => a.status === 'unsupported');
    assert.ok(refused.length > 0 && rows.length > refused.length, 'the corpus needs snippets of both kinds');
    for (const a of refused) {
      assert.match(a.note, /line 1 more_set_headers: translated/);
      assert.match(a.note, /line 2 proxy_cache_bypass: not translated/);
    }
  });

  test('only the Ingresses of one namespace of a clean corpus: exit 0', async () => {
    const clean = join(dir, 'clean');
    await mkdir(clean, { recursive: true });
    const keep = corpus.ingresses.filter((i) => i.served && i.annotations.every((a) => a.intent === 'honoured') && i.name !== 'unquoted').slice(0, 4);
    const objects = corpusObjects(corpus, parseYaml).filter((o) => o.kind !== 'Ingress' || keep.some((k) => (o.metadata as { name: string }).name === k.name && (o.metadata as { namespace: string }).namespace === k.namespace));
    await writeFile(join(clean, 'all.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    const run = await portico(['check', '--manifests', clean]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^\d+ Ingresses?, \d+ annotations?: .*$/m);
  });

  test('--configmap: each key of the settings ConfigMap classified; a clean one exits 0, a lossy or missing one 1', async () => {
    const settings = join(dir, 'settings');
    await mkdir(settings, { recursive: true });
    const cm = (data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, data });
    await writeFile(join(settings, 'cm.yaml'), cm({ 'hsts-max-age': '600', 'ssl-protocols': 'TLSv1.1 TLSv1.3', 'allow-snippet-annotations': 'true', 'enable-modsecurity': 'true', 'proxy-body-sise': '8m', 'limit-req-status-code': 'many' }));
    const run = await portico(['check', '--manifests', settings, '--configmap', 'ingress-nginx/ingress-nginx-controller', '--output', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const r = JSON.parse(run.stdout) as { configmap: { key: string; value: string; status: string; note: string }[] };
    for (const c of r.configmap) assert.deepEqual(Object.keys(c), ['key', 'value', 'status', 'note']);
    assert.deepEqual(
      r.configmap.map((c) => `${c.key}=${c.value} ${c.status}`),
      ['allow-snippet-annotations=true ignored', 'enable-modsecurity=true unsupported', 'hsts-max-age=600 partial', 'limit-req-status-code=many invalid', 'proxy-body-sise=8m unknown', 'ssl-protocols=TLSv1.1 TLSv1.3 partial'],
    );
    assert.match(r.configmap.find((c) => c.key === 'proxy-body-sise')!.note, /did you mean "proxy-body-size"/);
    const table = await portico(['check', '--manifests', settings, '--configmap', 'ingress-nginx/ingress-nginx-controller']);
    assert.match(table.stdout, /^ {2}unknown +proxy-body-sise /m);

    await writeFile(join(settings, 'cm.yaml'), cm({ 'hsts-include-subdomains': 'false', 'server-tokens': 'true', 'allow-snippet-annotations': 'false' }));
    const clean = await portico(['check', '--manifests', settings, '--configmap', 'ingress-nginx/ingress-nginx-controller', '--output', 'json']);
    assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr}`);

    const missing = await portico(['check', '--manifests', settings, '--configmap', 'ingress-nginx/other', '--output', 'json']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ConfigMap ingress-nginx\/other \(--configmap\) is not among the objects read/);
    assert.deepEqual((JSON.parse(missing.stdout) as { configmap: unknown[] }).configmap, []);
  });

  test("an annotation naming a ConfigMap: what serve finds inside it is on the annotation's row; clean, exit 0; an entry left out, exit 1", async () => {
    const named = join(dir, 'named');
    await mkdir(named, { recursive: true });
    const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace: 'shop', name: 'web', annotations: { 'nginx.ingress.kubernetes.io/custom-headers': 'headers' } }, spec: { ingressClassName: 'portico', rules: [{ host: 'web.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } };
    const write = (data: Record<string, string>): Promise<void> =>
      writeFile(join(named, 'all.yaml'), [ingress, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'shop', name: 'headers' }, data }, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'web' }, spec: { ports: [{ port: 80 }] } }].map((o) => stringify(o)).join('---\n'));
    const row = async (): Promise<{ code: number | null; status: string; note: string }> => {
      const run = await portico(['check', '--manifests', named, '--output', 'json']);
      const r = JSON.parse(run.stdout) as Report;
      const a = r.ingresses[0]!.annotations.find((x) => x.key === 'nginx.ingress.kubernetes.io/custom-headers')!;
      return { code: run.code, status: a.status, note: a.note };
    };
    await write({ 'X-Team': 'shop' });
    const clean = await row();
    assert.notEqual(clean.status, 'invalid', clean.note);
    assert.equal(clean.code, 0);
    await write({ 'X-Team': 'shop', 'X Bad': 'v' });
    const lossy = await row();
    assert.equal(lossy.status, 'invalid');
    assert.match(lossy.note, /ConfigMap shop\/headers data\[X Bad\]: .*left out/);
    assert.equal(lossy.code, 1);
  });

  test('the table: a line per Ingress with served or not, a row per annotation, the summary last', async () => {
    const run = await portico(['check', '--manifests', join(dir, 'corpus')]);
    assert.equal(run.code, 1);
    const lines = run.stdout.trimEnd().split('\n');
    for (const i of corpus.ingresses) {
      const head = lines.findIndex((l) => l.startsWith(`${i.namespace}/${i.name}  `));
      assert.ok(head >= 0, `${i.namespace}/${i.name} has no line`);
      assert.match(lines[head]!, i.served ? / {2}served \(/ : / {2}NOT SERVED \(/);
      for (const a of i.annotations) assert.ok(lines.slice(head + 1).some((l) => l.includes(` ${a.key} `) || l.endsWith(` ${a.key}`)), `${i.name}: no row for ${a.key}`);
    }
    assert.match(lines.at(-1)!, /^\d+ Ingresses, \d+ annotations: \d+ supported, /);
  });

  test('standard input: `kubectl get ingress -A -o yaml | portico check --manifests -` gives the same report', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: corpusObjects(corpus, parseYaml) };
    const fromStdin = await portico(['check', '--manifests', '-', '--output', 'json'], stringify(list));
    const fromFiles = await portico(['check', '--manifests', join(dir, 'corpus'), '--output', 'json']);
    assert.equal(fromStdin.code, 1, fromStdin.stderr);
    assert.deepEqual(JSON.parse(fromStdin.stdout), JSON.parse(fromFiles.stdout));
  });

  test('a malformed file: its error goes to standard error, the report to standard output, exit 1', async () => {
    const broken = join(dir, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'bad.yaml'), 'kind: Ingress\nmetadata: [unclosed\n');
    await writeFile(join(broken, 'good.yaml'), stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'g', namespace: 'default' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } }));
    for (const command of ['check', 'translate']) {
      const run = await portico([command, '--manifests', broken, ...(command === 'check' ? ['--output', 'json'] : [])]);
      assert.doesNotThrow(() => JSON.parse(run.stdout), `${command}: standard output is not JSON: ${run.stdout.slice(0, 200)}`);
      assert.match(run.stderr, /bad\.yaml/, `${command}: the error is not on standard error`);
      if (command === 'check') assert.equal(run.code, 1);
    }
  });

  test('usage errors: exit 2, nothing on standard output', async () => {
    for (const args of [['check'], ['check', '--manifests', dir, '--output', 'xml'], ['check', '--manifests', dir, '--no-such-flag'], ['check', '--manifests', dir, '--namespace', 'Bad_NS'], ['translate', '--manifests', '-']]) {
      const run = await portico(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '', args.join(' '));
      assert.notEqual(run.stderr, '', args.join(' '));
    }
  });
});

describe('portico check --kubeconfig', () => {
  test('reads every kind from the API, only with GET, and reports as from files (classes as the cluster has them)', async () => {
    const seen = api.requests.length;
    const run = await portico(['check', '--kubeconfig', kubeconfig, '--output', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const r = JSON.parse(run.stdout) as Report;
    assertShape(r);
    assertMatchesCorpus(r);
    const requests = api.requests.slice(seen);
    assert.ok(requests.length >= 5, `${requests.length} requests`);
    assert.deepEqual([...new Set(requests.map((q) => q.method))], ['GET'], 'check wrote to the cluster');
  });

  test('--namespace: that namespace only', async () => {
    const run = await portico(['check', '--kubeconfig', kubeconfig, '--namespace', 'payments', '--output', 'json']);
    const r = JSON.parse(run.stdout) as Report;
    assertMatchesCorpus(r, (ns) => ns === 'payments');
  });

  test('--configmap in another namespace: it and the objects its keys name are read by name alone, their findings on the rows', async () => {
    // Least privilege: list in shop only, and in ingress-nginx `get` on the three named objects; no list of Secrets.
    const rbac = join(dir, 'checker-rbac.yaml');
    const subjects = [{ kind: 'ServiceAccount', name: 'checker', namespace: 'portico' }];
    const role = (kind: 'Role' | 'ClusterRole', name: string, namespace: string | undefined, rules: unknown[]): string =>
      [
        stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, rules }),
        stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: `${kind}Binding`, metadata: { name, ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name }, subjects }),
      ].join('---\n');
    await writeFile(
      rbac,
      [
        role('ClusterRole', 'checker-classes', undefined, [{ apiGroups: ['networking.k8s.io'], resources: ['ingressclasses'], verbs: ['list'] }]),
        role('Role', 'checker-shop', 'shop', [
          { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list'] },
          { apiGroups: [''], resources: ['services', 'secrets', 'configmaps'], verbs: ['list'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
        ]),
        role('Role', 'checker-settings', 'ingress-nginx', [
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['ingress-nginx-controller', 'custom-headers', 'request-headers'], verbs: ['get'] },
          { apiGroups: [''], resources: ['secrets'], resourceNames: ['dhparam'], verbs: ['get'] },
        ]),
      ].join('---\n'),
    );
    const token = 'checker-token';
    const cluster = await startApiServer({ token, rbac: { files: [rbac], serviceAccount: { namespace: 'portico', name: 'checker' } } });
    try {
      const dh = execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048'], { encoding: 'utf8' });
      cluster.create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace: 'shop', name: 'web' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } } });
      cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ingress-nginx', name: 'ingress-nginx-controller' }, data: { 'add-headers': 'ingress-nginx/custom-headers', 'proxy-set-headers': 'ingress-nginx/request-headers', 'ssl-dh-param': 'ingress-nginx/dhparam' } });
      cluster.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ingress-nginx', name: 'custom-headers' }, data: { 'X-Frame-Options': 'DENY', 'X-Served-By': '$hostname' } });
      cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ingress-nginx', name: 'dhparam' }, data: { 'dhparam.pem': Buffer.from(dh).toString('base64') } });
      cluster.create({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ingress-nginx', name: 'unrelated' }, data: { k: 'dg==' } });
      const config = cluster.kubeconfig(join(dir, 'checker-kubeconfig'), { token });
      const run = await portico(['check', '--kubeconfig', config, '--namespace', 'shop', '--configmap', 'ingress-nginx/ingress-nginx-controller', '--output', 'json']);
      assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
      const rows = (JSON.parse(run.stdout) as { configmap: { key: string; status: string; note: string }[] }).configmap;
      assert.deepEqual(rows.map((c) => `${c.key} ${c.status}`), ['add-headers invalid', 'proxy-set-headers invalid', 'ssl-dh-param partial']);
      assert.match(rows[0]!.note, /^ConfigMap ingress-nginx\/custom-headers data\[X-Served-By\]: the nginx variable \$hostname /);
      assert.match(rows[1]!.note, /^ConfigMap ingress-nginx\/request-headers was not found: no header is set on requests/);
      const table = await portico(['check', '--kubeconfig', config, '--namespace', 'shop', '--configmap', 'ingress-nginx/ingress-nginx-controller']);
      assert.match(table.stdout, /^ {2}invalid +add-headers +"ingress-nginx\/custom-head\S* +ConfigMap ingress-nginx\/custom-headers data\[X-Served-By\]: /m);

      assert.deepEqual(cluster.rbacDenials, []);
      const outside = cluster.requests.filter((q) => q.namespace !== 'shop' && q.resource !== 'ingressclasses');
      assert.deepEqual([...new Set(outside.map((q) => `${q.verb} ${q.resource} ${q.namespace}/${q.name}`))].sort(), ['get configmaps ingress-nginx/custom-headers', 'get configmaps ingress-nginx/ingress-nginx-controller', 'get configmaps ingress-nginx/request-headers', 'get secrets ingress-nginx/dhparam']);
      assert.deepEqual([...new Set(cluster.requests.map((q) => q.method))], ['GET']);
    } finally {
      await cluster.close();
    }
  });
});
