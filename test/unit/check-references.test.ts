// portico check on the settings keys that name other objects (add-headers, proxy-set-headers: ConfigMaps of headers;
// ssl-dh-param: a Secret): each present, absent and invalid, reported on the key's row with the very findings serve's
// translate makes; and, from the API, those objects fetched by name where the lists did not reach, never by a list.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { check, losesSomething } from '../../src/check/check.js';
import { snapshotFromApi } from '../../src/check/from-api.js';
import { checkJson, checkTable } from '../../src/check/format.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { Obj } from '../../src/k8s/objects.js';
import type { Logger } from '../../src/log.js';
import { ApiError } from '../../src/sources/kubernetes/client.js';
import type { KubeClient } from '../../src/sources/kubernetes/client.js';
import { translate } from '../../src/translate/translate.js';
import { configMapEntries } from '../../src/translate/configmaps.js';
import { readGlobalSettings } from '../../src/translate/settings/index.js';

const SETTINGS = 'ingress-nginx/settings';
const OPTS = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: SETTINGS };
const DH = execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048'], { encoding: 'utf8' });
const b64 = (t: string): string => Buffer.from(t).toString('base64');

const configMap = (name: string, data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ingress-nginx', name }, data });
const secret = (name: string, data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ingress-nginx', name }, data });
const settings = configMap('settings', { 'add-headers': 'ingress-nginx/resp', 'proxy-set-headers': 'ingress-nginx/req', 'ssl-dh-param': 'ingress-nginx/dh', 'hsts-max-age': '600' });
const GOOD = { resp: configMap('resp', { 'X-Frame-Options': 'DENY' }), req: configMap('req', { 'X-Team': 'shop-$host' }), dh: secret('dh', { 'dhparam.pem': b64(DH) }) };
const BAD = { resp: configMap('resp', { 'X Bad': 'DENY', 'X-Ok': 'fine' }), req: configMap('req', { 'X-Team': '$nosuchvar' }), dh: secret('dh', { 'dhparam.pem': b64('not parameters\n') }) };

type Ref = keyof typeof GOOD;
const snapshotWith = (objects: Partial<Record<Ref, Obj>>): Snapshot => ({
  ...emptySnapshot(),
  configMaps: [settings, ...[objects.resp, objects.req].filter((o) => o !== undefined)],
  secrets: objects.dh ? [objects.dh] : [],
});
const rowOf = (s: Snapshot, key: string) => check(s, OPTS).configmap.find((r) => r.key === key)!;

const CASES = [
  { key: 'add-headers', ref: 'resp', object: 'ConfigMap ingress-nginx/resp', missing: /^ConfigMap ingress-nginx\/resp was not found: no header is added to responses/, invalid: /^ConfigMap ingress-nginx\/resp data\[X Bad\]: "X Bad" is not a header name/ },
  { key: 'proxy-set-headers', ref: 'req', object: 'ConfigMap ingress-nginx/req', missing: /^ConfigMap ingress-nginx\/req was not found: no header is set on requests/, invalid: /^ConfigMap ingress-nginx\/req data\[X-Team\]: the nginx variable \$nosuchvar/ },
  { key: 'ssl-dh-param', ref: 'dh', object: 'Secret ingress-nginx/dh', missing: /^Secret ingress-nginx\/dh was not found: HAProxy's built-in 2048-bit group/, invalid: /^Secret ingress-nginx\/dh data\[dhparam\.pem\]: dhparam\.pem is not one PEM block/ },
] as const;

void describe('check --configmap: the objects its keys name', () => {
  for (const c of CASES) {
    test(`${c.key}: present and good, the row as the registry classifies it; nothing lost`, () => {
      const s = snapshotWith(GOOD);
      const row = rowOf(s, c.key);
      assert.deepEqual(row, readGlobalSettings(configMapEntries(settings), `ConfigMap ${SETTINGS}`).reports.find((x) => x.key === c.key));
      assert.equal(row.status, 'partial');
      assert.equal(losesSomething(check(s, OPTS)), false);
    });

    test(`${c.key}: absent, the row is invalid and says so; the other keys keep their rows`, () => {
      const s = snapshotWith({ ...GOOD, [c.ref]: undefined });
      const r = check(s, OPTS);
      const row = r.configmap.find((x) => x.key === c.key)!;
      assert.equal(row.status, 'invalid');
      assert.match(row.note, c.missing);
      for (const other of r.configmap.filter((x) => x.key !== c.key)) assert.equal(other.status, 'partial', other.key);
      assert.equal(losesSomething(r), true);
    });

    test(`${c.key}: invalid, the row is invalid with the finding on ${c.object}`, () => {
      const s = snapshotWith({ ...GOOD, [c.ref]: BAD[c.ref] });
      const row = rowOf(s, c.key);
      assert.equal(row.status, 'invalid');
      assert.match(row.note, c.invalid);
      assert.equal(losesSomething(check(s, OPTS)), true);
    });
  }

  test('the notes are exactly the findings serve reports (translate), nothing of their own', () => {
    const s = snapshotWith(BAD);
    const served = translate(s, OPTS).diagnostics;
    for (const c of CASES) {
      const findings = served.filter((d) => d.rule === c.key);
      assert.equal(findings.length, 1, c.key);
      assert.equal(rowOf(s, c.key).note, `${findings[0]!.object} ${findings[0]!.field}: ${findings[0]!.message}`);
    }
    // A Secret without dhparam.pem, and the settings key's own finding (the object was not found), as serve words them.
    const noKey = snapshotWith({ ...GOOD, dh: secret('dh', {}) });
    assert.match(rowOf(noKey, 'ssl-dh-param').note, /^Secret ingress-nginx\/dh data\[dhparam\.pem\]: the Secret has no dhparam\.pem/);
    const absent = snapshotWith({});
    assert.equal(rowOf(absent, 'add-headers').note, translate(absent, OPTS).diagnostics.find((d) => d.rule === 'add-headers')!.message);
  });

  test('one ConfigMap named by both header keys: each row gets its own findings only', () => {
    const shared = configMap('settings', { 'add-headers': 'ingress-nginx/resp', 'proxy-set-headers': 'ingress-nginx/resp' });
    const s = { ...emptySnapshot(), configMaps: [shared, configMap('resp', { 'X Bad': 'a', 'X-Frame-Options': '$nosuchvar' })] };
    const r = check(s, OPTS);
    const add = r.configmap.find((x) => x.key === 'add-headers')!;
    const set = r.configmap.find((x) => x.key === 'proxy-set-headers')!;
    assert.equal(add.status, 'invalid');
    assert.equal(set.status, 'invalid');
    assert.equal(add.note.split('; ConfigMap ').length, 2, add.note);
    assert.doesNotMatch(add.note, /proxy-set-headers/);
  });

  test('the JSON keeps its documented shape; the table shows the finding on the row', () => {
    const r = check(snapshotWith(BAD), OPTS);
    const json = JSON.parse(checkJson(r)) as { configmap: Record<string, unknown>[] };
    for (const row of json.configmap) assert.deepEqual(Object.keys(row), ['key', 'value', 'status', 'note']);
    assert.match(checkTable(r), /^ {2}invalid +ssl-dh-param +"ingress-nginx\/dh" +Secret ingress-nginx\/dh data\[dhparam\.pem\]: /m);
  });
});

void describe('check --kubeconfig: the objects the settings name, by name', () => {
  const inShop = (kind: string, name: string): Obj => ({ kind, metadata: { namespace: 'shop', name } });

  /** An API stand-in: lists of namespace shop only; single objects from `objects` by path, or the status given. */
  function client(objects: Record<string, Obj | number>) {
    const paths: string[] = [];
    const c = {
      request: (method: string, path: string): Promise<unknown> => {
        paths.push(`${method} ${path.replace(/\?.*/, '')}`);
        if (path.includes('?')) return Promise.resolve({ metadata: {}, items: path.includes('/namespaces/shop/configmaps') ? [inShop('ConfigMap', 'local')] : [] });
        const got = objects[path];
        if (got === undefined) return Promise.reject(new ApiError(404, 'NotFound', `${path} not found`));
        if (typeof got === 'number') return Promise.reject(new ApiError(got, 'Forbidden', `${path} forbidden`));
        return Promise.resolve(got);
      },
    };
    return { client: c as unknown as KubeClient, paths };
  }
  const warnings: string[] = [];
  const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  const path = (resource: string, name: string): string => `/api/v1/namespaces/ingress-nginx/${resource}/${name}`;

  test('--namespace elsewhere: the settings ConfigMap and each object it names are fetched by GET of their name', async () => {
    const { client: c, paths } = client({ [path('configmaps', 'settings')]: settings, [path('configmaps', 'resp')]: BAD.resp, [path('configmaps', 'req')]: GOOD.req, [path('secrets', 'dh')]: GOOD.dh });
    const s = await snapshotFromApi(c, 'shop', log, SETTINGS);
    const lists = paths.filter((p) => !p.includes('/ingress-nginx/'));
    assert.ok(lists.every((p) => p.startsWith('GET ') && (p.includes('/namespaces/shop/') || p.endsWith('/ingressclasses'))), lists.join('\n'));
    assert.deepEqual(paths.filter((p) => p.includes('/ingress-nginx/')), ['configmaps/settings', 'configmaps/resp', 'configmaps/req', 'secrets/dh'].map((p) => `GET /api/v1/namespaces/ingress-nginx/${p}`));
    assert.deepEqual(s.secrets.map((o) => [o.apiVersion, o.kind].join(' ')), ['v1 Secret']);
    const r = check(s, OPTS);
    assert.deepEqual(r.configmap.map((x) => `${x.key} ${x.status}`), ['add-headers invalid', 'hsts-max-age partial', 'proxy-set-headers partial', 'ssl-dh-param partial']);
  });

  test('an object the lists held is not fetched again; none is fetched without --configmap', async () => {
    const listed = client({});
    await snapshotFromApi(listed.client, 'shop', log);
    assert.ok(listed.paths.every((p) => p.includes('?') || !p.includes('/ingress-nginx/')));
    const local = { ...OPTS, configMap: 'shop/local' };
    const again = client({});
    await snapshotFromApi(again.client, 'shop', log, local.configMap);
    assert.deepEqual(again.paths.filter((p) => !/\/(configmaps|secrets|services|ingresses|ingressclasses|endpointslices)$/.test(p)), []);
  });

  test('a Secret the credentials may not get: a warning, and the row says it is missing (exit 1)', async () => {
    warnings.length = 0;
    const { client: c } = client({ [path('configmaps', 'settings')]: settings, [path('configmaps', 'resp')]: GOOD.resp, [path('configmaps', 'req')]: GOOD.req, [path('secrets', 'dh')]: 403 });
    const s = await snapshotFromApi(c, 'shop', log, SETTINGS);
    assert.deepEqual(warnings, ['cannot get Secret ingress-nginx/dh (403): it is reported as missing']);
    const r = check(s, OPTS);
    assert.equal(r.configmap.find((x) => x.key === 'ssl-dh-param')!.status, 'invalid');
    assert.equal(losesSomething(r), true);
  });
});

void describe('check: the objects Ingress annotations name', () => {
  const N = 'nginx.ingress.kubernetes.io/';
  const opts = { ...OPTS, configMap: undefined };
  const ingress = (annotations: Record<string, string>): Obj => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: { rules: [{ host: 'web.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  });
  const inShop = (kind: 'ConfigMap' | 'Secret', name: string, data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind, metadata: { namespace: 'shop', name }, data });
  const rowOf = (s: Snapshot, name: string) => check(s, opts).ingresses[0]!.annotations.find((a) => a.key === `${N}${name}`)!;
  /** What serve reports on `object`, as the row quotes it. */
  const servedFindings = (s: Snapshot, object: string): string[] => translate(s, opts).diagnostics.filter((d) => d.object === object).map((d) => `${d.object} ${d.field}: ${d.message}`);
  const USER = 'alice:$2y$05$sZxN/7orsnmwAOAldZMxKOtv41BlRO1K4FEdr4c6RpdmAvM5n5dRm';

  test('custom-headers: an entry of the ConfigMap left out makes the row invalid, with the finding serve reports', () => {
    const good = { ...emptySnapshot(), ingresses: [ingress({ [`${N}custom-headers`]: 'hdrs' })], configMaps: [inShop('ConfigMap', 'hdrs', { 'X-Ok': 'fine' })] };
    assert.notEqual(rowOf(good, 'custom-headers').status, 'invalid');
    assert.equal(losesSomething(check(good, opts)), false);
    const bad = { ...good, configMaps: [inShop('ConfigMap', 'hdrs', { 'X Bad': 'v', 'X-Ok': 'fine' })] };
    const row = rowOf(bad, 'custom-headers');
    const served = servedFindings(bad, 'ConfigMap shop/hdrs');
    assert.equal(served.length, 1);
    assert.match(served[0]!, /data\[X Bad\]/);
    assert.equal(row.status, 'invalid');
    assert.ok(row.note.endsWith(served[0]!), row.note);
    assert.equal(losesSomething(check(bad, opts)), true);
  });

  test('auth-secret: a line of the Secret that is no user makes that row invalid; auth-type keeps its own', () => {
    const annotations = { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'users' };
    const good = { ...emptySnapshot(), ingresses: [ingress(annotations)], secrets: [inShop('Secret', 'users', { auth: b64(`${USER}\n`) })] };
    const before = rowOf(good, 'auth-secret');
    const bad = { ...good, secrets: [inShop('Secret', 'users', { auth: b64(`${USER}\nno password here\n`) })] };
    const served = servedFindings(bad, 'Secret shop/users');
    assert.equal(served.length, 1);
    const row = rowOf(bad, 'auth-secret');
    assert.equal(row.status, 'invalid');
    assert.equal(row.note, `${before.note}; ${served[0]}`);
    assert.deepEqual(rowOf(bad, 'auth-type'), rowOf(good, 'auth-type'));
  });

  test("a row overridden by its portico.dev/ twin stays ignored; an Ingress of another class gets none of the findings", () => {
    const cm = inShop('ConfigMap', 'hdrs', { 'X Bad': 'v' });
    const twin = { ...emptySnapshot(), ingresses: [ingress({ [`${N}custom-headers`]: 'hdrs', 'portico.dev/custom-headers': 'hdrs' })], configMaps: [cm] };
    const rows = check(twin, opts).ingresses[0]!.annotations;
    assert.equal(rows.find((a) => a.key === `${N}custom-headers`)!.status, 'ignored');
    assert.equal(rows.find((a) => a.key === 'portico.dev/custom-headers')!.status, 'invalid', 'the finding is on the row that applies');
    const served = ingress({ [`${N}custom-headers`]: 'hdrs' });
    const other = { ...ingress({ [`${N}custom-headers`]: 'hdrs' }), metadata: { name: 'other', namespace: 'shop', annotations: { [`${N}custom-headers`]: 'hdrs' } }, spec: { ingressClassName: 'nginx', rules: [] } };
    const r = check({ ...emptySnapshot(), ingresses: [served, other], configMaps: [cm] }, opts);
    const row = (name: string) => r.ingresses.find((i) => i.name === name)!.annotations.find((a) => a.key === `${N}custom-headers`)!;
    assert.equal(row('web').status, 'invalid');
    assert.equal(r.ingresses.find((i) => i.name === 'other')!.served, false);
    assert.notEqual(row('other').status, 'invalid');
  });

  test("one ConfigMap named by two annotations: each row gets its own findings only; another namespace's of that name none", () => {
    const s = {
      ...emptySnapshot(),
      ingresses: [ingress({ [`${N}custom-headers`]: 'hdrs', [`${N}auth-url`]: 'http://auth.shop.svc/check', [`${N}auth-proxy-set-headers`]: 'hdrs' })],
      configMaps: [inShop('ConfigMap', 'hdrs', { 'X-Team': '$nosuchvar' }), { ...inShop('ConfigMap', 'hdrs', { 'X Bad': 'v' }), metadata: { namespace: 'other', name: 'hdrs' } }],
    };
    const served = translate(s, opts).diagnostics.filter((d) => d.object === 'ConfigMap shop/hdrs');
    assert.deepEqual(served.map((d) => d.rule), ['auth-proxy-set-headers'], 'the value is good as a response header, not as a proxied one');
    assert.notEqual(rowOf(s, 'custom-headers').status, 'invalid');
    assert.equal(rowOf(s, 'auth-proxy-set-headers').status, 'invalid');
  });
});
