// translate called directly, on objects no store would hand it (no namespace, names that are no strings), and the
// incremental Translator's promises beyond equal results (incremental-translate.test.ts checks those): parts of the
// model nothing changed keep their identity, and edits that drop TLS or change a certificate are not missed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import { Translator, translate } from '../../src/translate/translate.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { serializeResult } from '../../src/model/serialize.js';

const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };
const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'test', 'unit', 'fixtures', 'tls');
const b64pem = (name: string): string => Buffer.from(readFileSync(join(FIXTURES, `${name}.pem`), 'utf8')).toString('base64');
type Obj = Record<string, unknown>;

const ingress = (meta: Obj, spec: Obj): Obj => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta, spec });
const rule = (host: string, service: string): Obj => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } });
const service = (meta: Obj): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 80 }] } });
const slice = (meta: Obj, address: string): Obj => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, addressType: 'IPv4', endpoints: [{ addresses: [address] }] });
const tlsSecret = (meta: Obj, cert: string, key: string): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': b64pem(cert), 'tls.key': b64pem(key) } });

void describe('translate, called directly', () => {
  test('an empty snapshot: an empty model, nothing to report', () => {
    assert.deepEqual(emptySnapshot(), { ingresses: [], ingressClasses: [], services: [], endpointSlices: [], secrets: [], configMaps: [] });
    assert.deepEqual(translate(emptySnapshot(), OPTIONS), { model: { hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [] }, diagnostics: [] });
  });

  for (const [label, ns] of [['without a namespace', {}], ['with an empty namespace', { namespace: '' }]] as const) {
    test(`objects ${label} are in "default", as the store puts them`, () => {
      const r = translate(
        {
          ...emptySnapshot(),
          ingresses: [ingress({ name: 'site', ...ns }, { tls: [{ hosts: ['mixed.example.com'], secretName: 'cert' }], rules: [rule('mixed.example.com', 'web')] })],
          ingressClasses: [],
          services: [service({ name: 'web', ...ns })],
          endpointSlices: [slice({ name: 'web-1', ...ns, labels: { 'kubernetes.io/service-name': 'web' } }, '10.0.0.1')],
          secrets: [tlsSecret({ name: 'cert', ...ns }, 'mixed.crt', 'mixed.key')],
        },
        OPTIONS,
      );
      assert.deepEqual(r.diagnostics, []);
      assert.deepEqual(r.model.ingresses.map((i) => [i.ingress, i.owned]), [['default/site', true]]);
      assert.deepEqual(r.model.backends.map((b) => [b.name, b.servers.map((s) => s.address)]), [['be_default_web_80', ['10.0.0.1']]]);
      assert.deepEqual(r.model.sni, [{ host: 'mixed.example.com', certificate: 'default_cert' }]);
    });
  }

  test('an Ingress whose name is no string is listed as "default/" and reported', () => {
    const r = translate({ ...emptySnapshot(), ingresses: [ingress({ name: 5, namespace: 'default' }, { rules: [rule('x.example.com', 'web')] })] }, OPTIONS);
    assert.deepEqual(r.model.ingresses, [{ ingress: 'default/', owned: false, valid: false, classReason: 'invalid' }]);
    assert.deepEqual(r.diagnostics.map((d) => [d.object, d.rule]), [['Ingress default/""', 'V2']]);
  });

  test('annotation values that are no strings (unquoted YAML booleans), and keys that are no qualified names, are left out with an error; the Ingress is served', () => {
    const r = translate(
      {
        ...emptySnapshot(),
        ingresses: [
          ingress(
            { name: 'site', namespace: 'default', annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': false, 'portico.dev/force-ssl-redirect': 1, 'bad key\n': 'x' } },
            { tls: [{ hosts: ['site.example.com'] }], rules: [rule('site.example.com', 'web')] },
          ),
        ],
      },
      OPTIONS,
    );
    assert.equal(r.model.hostGroups[0]?.prefix[0]?.policy.redirectToHttps, true, 'the global default applies');
    assert.deepEqual(
      r.diagnostics.filter((d) => d.rule === 'V1').map((d) => [d.level, d.field, d.rule]),
      [
        ['error', 'metadata.annotations', 'V1'],
        ['error', 'metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirect]', 'V1'],
        ['error', 'metadata.annotations[portico.dev/force-ssl-redirect]', 'V1'],
      ],
    );
    assert.match(r.diagnostics.find((d) => d.field.endsWith('ssl-redirect]'))?.message ?? '', /must be strings \(quote false in YAML\)/);
  });
});

void describe('the incremental Translator', () => {
  const site = (name: string, host: string, secretName?: string): Obj =>
    ingress({ name, namespace: 'default' }, { ...(secretName ? { tls: [{ hosts: [host], secretName }] } : {}), rules: [rule(host, name)] });
  const base = (): Snapshot => ({
    ...emptySnapshot(),
    ingresses: [site('a', 'mixed.example.com', 'cert'), site('b', 'b.example.com'), ingress({ name: 'catch', namespace: 'default' }, { defaultBackend: { service: { name: 'a', port: { number: 80 } } } })],
    ingressClasses: [],
    services: [service({ name: 'a', namespace: 'default' }), service({ name: 'b', namespace: 'default' })],
    endpointSlices: [
      slice({ name: 'a-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } }, '10.0.0.1'),
      slice({ name: 'b-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'b' } }, '10.0.0.2'),
    ],
    secrets: [tlsSecret({ name: 'cert', namespace: 'default' }, 'mixed.crt', 'mixed.key')],
  });
  const fresh = (s: Snapshot): string => serializeResult(translate(s, OPTIONS));

  test('the same snapshot again: the very same model lists', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const first = t.update(s).model;
    const again = t.update(s).model;
    for (const k of ['hostGroups', 'backends', 'certificates', 'sni', 'ingresses', 'catchAll'] as const) assert.equal(again[k], first[k], k);
  });

  test('every object replaced by an equal copy: host groups, backends, the catch-all and certificates keep their identity', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const first = t.update(s).model;
    const copy = structuredClone(s);
    const second = t.update(copy).model;
    assert.equal(serializeResult({ model: second, diagnostics: [] }), serializeResult({ model: first, diagnostics: [] }));
    for (const k of ['hostGroups', 'backends', 'certificates', 'sni', 'catchAll'] as const) assert.equal(second[k], first[k], k);
  });

  test('an endpoint change leaves the list of Ingresses as it was', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const first = t.update(s).model;
    const moved = { ...s, endpointSlices: [slice({ name: 'a-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } }, '10.0.0.9'), s.endpointSlices[1]!] };
    const second = t.update(moved).model;
    assert.equal(second.ingresses, first.ingresses);
    assert.notEqual(second.backends, first.backends);
  });

  test('a Secret added that no Ingress uses: certificates and SNI keep their identity', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const first = t.update(s).model;
    const second = t.update({ ...s, secrets: [...s.secrets, tlsSecret({ name: 'unused', namespace: 'default' }, 'odd.crt', 'odd.key')] }).model;
    assert.equal(second.certificates, first.certificates);
    assert.equal(second.sni, first.sni);
  });

  test('a Secret whose certificate changes: the new certificate is served', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const first = t.update(s).model;
    const changed = { ...s, secrets: [tlsSecret({ name: 'cert', namespace: 'default' }, 'renewed.crt', 'renewed.key')] };
    const second = t.update(changed);
    assert.notEqual(second.model.certificates[0]!.sha256, first.certificates[0]!.sha256);
    assert.equal(serializeResult(second), fresh(changed));
  });

  test('an Ingress that gains TLS: its host is bound to the certificate', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    const plain = { ...s, ingresses: [site('a', 'mixed.example.com'), s.ingresses[1]!, s.ingresses[2]!] };
    assert.deepEqual(t.update(plain).model.sni, []);
    const r = t.update(s);
    assert.deepEqual(r.model.sni, [{ host: 'mixed.example.com', certificate: 'default_cert' }]);
    assert.equal(serializeResult(r), fresh(s));
  });

  test('an Ingress that drops its TLS, then one that is deleted with it: their certificate bindings go', () => {
    const t = new Translator(OPTIONS);
    const s = base();
    t.update(s);
    const noTls = { ...s, ingresses: [site('a', 'mixed.example.com'), s.ingresses[1]!, s.ingresses[2]!] };
    const r1 = t.update(noTls);
    assert.deepEqual(r1.model.sni, []);
    assert.equal(serializeResult(r1), fresh(noTls));
    const t2 = new Translator(OPTIONS);
    t2.update(s);
    const gone = { ...s, ingresses: [s.ingresses[1]!, s.ingresses[2]!] };
    const r2 = t2.update(gone);
    assert.deepEqual(r2.model.sni, []);
    assert.equal(serializeResult(r2), fresh(gone));
  });
});
