// Routing end to end: real Portico, real HAProxy, echo pods on loopback. Hosts (H*), paths (P*), classes (C*),
// backends and errors (B*), load balancing (L1) and what the proxy does to requests and responses (X*).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, ingressClass, manifestDir, service, startEcho, startPortico, writeManifest } from './harness/index.js';
import { singlePodApp, stopEverything } from './harness/index.js';
import type { Echo } from './harness/index.js';

interface EchoBody {
  pod: string;
  host: string;
  path: string;
  method: string;
  proto: string;
  headers: Record<string, string>;
  body: string;
}

const pods: Echo[] = [];
let port = 0;

const app = (name: string, ip: string): Promise<string> => singlePodApp(pods, name, ip);

const route = (host: string, paths: [string, 'Exact' | 'Prefix' | 'ImplementationSpecific', string][]) => ({
  host,
  paths: paths.map(([path, pathType, svc]) => ({ path, pathType, service: svc, port: 80 })),
});

async function get(host: string, path: string, headers: Record<string, string> = {}) {
  return httpGet(port, { host, path, headers });
}

async function podFor(host: string, path: string): Promise<string> {
  const r = await get(host, path);
  return r.status === 200 ? r.json<EchoBody>().pod : `HTTP ${r.status}`;
}

before(async () => {
  const dir = await manifestDir();
  const apps: string[] = [];
  const names = ['s-root', 's-aaa', 's-aaabbb', 's-exact-foo', 's-prefix-foo', 's-bar-slash', 's-impl', 's-host', 's-wild', 's-default-class', 's-annot'];
  for (const [i, n] of names.entries()) apps.push(await app(n, `127.0.20.${i + 1}`));

  // Named Service port 8080 -> targetPort 3000 on pods whose container port is named http (B1, B2).
  for (const i of [1, 2]) pods.push(await startEcho({ pod: `named-${i}`, ip: `127.0.21.${i}`, port: 3000 }));
  apps.push(
    docs(
      service({ name: 'named', ports: [{ name: 'http', port: 8080, targetPort: 'http' }] }),
      endpointSlice({ name: 'named-1', service: 'named', ports: [{ name: 'http', port: 3000 }], endpoints: [{ ip: '127.0.21.1' }, { ip: '127.0.21.2' }] }),
    ),
  );
  // Ten pods for load balancing (L1).
  const lbIps: string[] = [];
  for (let i = 1; i <= 10; i++) {
    lbIps.push(`127.0.22.${i}`);
    pods.push(await startEcho({ pod: `lb-${i}`, ip: `127.0.22.${i}`, port: 3000 }));
  }
  apps.push(
    docs(
      service({ name: 'lb', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'lb-a', service: 'lb', ports: [{ port: 3000 }], endpoints: lbIps.slice(0, 6).map((ip) => ({ ip })) }),
      endpointSlice({ name: 'lb-b', service: 'lb', ports: [{ port: 3000 }], endpoints: lbIps.slice(5).map((ip) => ({ ip })) }),
    ),
  );
  // Error backends: no ready endpoint (B13), nobody listening (B17), only a terminating-but-serving pod (B12).
  pods.push(await startEcho({ pod: 'terminating', ip: '127.0.23.3', port: 3000 }));
  apps.push(
    docs(
      service({ name: 'not-ready', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'not-ready-1', service: 'not-ready', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.23.1', ready: false }] }),
      service({ name: 'dead', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'dead-1', service: 'dead', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.23.2' }] }),
      service({ name: 'rolling', ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: 'rolling-1', service: 'rolling', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.23.3', ready: false, serving: true, terminating: true }] }),
    ),
  );

  const ingresses = docs(
    ingress({
      name: 'paths',
      rules: [
        route('path.test', [
          ['/', 'Prefix', 's-root'],
          ['/aaa', 'Prefix', 's-aaa'],
          ['/aaa/bbb', 'Prefix', 's-aaabbb'],
          ['/foo', 'Exact', 's-exact-foo'],
          ['/foo', 'Prefix', 's-prefix-foo'],
          ['/bar/', 'Prefix', 's-bar-slash'],
          ['/impl', 'ImplementationSpecific', 's-impl'],
        ]),
        route('exact.test', [['/foo', 'Exact', 's-exact-foo']]),
        route('prefixonly.test', [['/aaa', 'Prefix', 's-aaa']]),
      ],
    }),
    ingress({
      name: 'hosts',
      rules: [route('foo.bar.com', [['/', 'Prefix', 's-host']]), route('*.bar.com', [['/', 'Prefix', 's-wild']])],
    }),
    ingress({
      name: 'backends',
      rules: [
        { host: 'named.test', paths: [{ path: '/', pathType: 'Prefix', service: 'named', port: 'http' }] },
        { host: 'lb.test', paths: [{ path: '/', pathType: 'Prefix', service: 'lb', port: 80 }] },
        { host: 'missing-svc.test', paths: [{ path: '/', pathType: 'Prefix', service: 'does-not-exist', port: 80 }] },
        { host: 'missing-port.test', paths: [{ path: '/', pathType: 'Prefix', service: 's-root', port: 81 }] },
        { host: 'not-ready.test', paths: [{ path: '/', pathType: 'Prefix', service: 'not-ready', port: 80 }] },
        { host: 'dead.test', paths: [{ path: '/', pathType: 'Prefix', service: 'dead', port: 80 }] },
        { host: 'rolling.test', paths: [{ path: '/', pathType: 'Prefix', service: 'rolling', port: 80 }] },
      ],
    }),
    ingressClass({ name: 'other', controller: 'example.com/other-controller' }),
    ingress({ name: 'other-class', className: 'other', rules: [route('other.test', [['/', 'Prefix', 's-root']])] }),
    ingress({ name: 'missing-class', className: 'some-invalid-class-name', rules: [route('noclass.test', [['/', 'Prefix', 's-root']])] }),
    ingress({ name: 'no-class', className: null, rules: [route('default-class.test', [['/', 'Prefix', 's-default-class']])] }),
    ingress({ name: 'annotated', className: null, annotations: { 'kubernetes.io/ingress.class': 'portico' }, rules: [route('annot.test', [['/', 'Prefix', 's-annot']])] }),
    ingress({ name: 'annotated-nginx', className: null, annotations: { 'kubernetes.io/ingress.class': 'nginx' }, rules: [route('annot-nginx.test', [['/', 'Prefix', 's-root']])] }),
  );
  await writeManifest(dir, 'apps.yaml', docs(...apps));
  await writeManifest(dir, 'ingresses.yaml', ingresses);
  const p = await startPortico({ manifests: [dir] });
  await p.waitReady();
  port = p.httpPort;
});

after(() => stopEverything(pods));

describe('paths (P1-P16)', () => {
  const cases: [string, string, string][] = [
    ['path.test', '/ccc', 's-root'], // P13: "/" catches what nothing longer matches
    ['path.test', '/', 's-root'],
    ['path.test', '/aaa', 's-aaa'],
    ['path.test', '/aaa/', 's-aaa'], // P6
    ['path.test', '/aaaccc', 's-root'], // P4: no partial segment
    ['path.test', '/aaa/bbb', 's-aaabbb'], // P11
    ['path.test', '/aaa/bbb/ccc', 's-aaabbb'], // P11
    ['path.test', '/aaa/bbbxyz', 's-aaa'], // P4
    ['path.test', '/aaa/ccc', 's-aaa'], // P11
    ['path.test', '/foo', 's-exact-foo'], // P12: Exact beats Prefix of the same path
    ['path.test', '/foo/', 's-prefix-foo'],
    ['path.test', '/foo/x', 's-prefix-foo'],
    ['path.test', '/FOO', 's-root'], // P7: case-sensitive
    ['path.test', '/bar', 's-bar-slash'], // P6: trailing slash ignored on both sides
    ['path.test', '/bar/', 's-bar-slash'],
    ['path.test', '/barn', 's-root'],
    ['path.test', '/impl/x', 's-impl'], // P8: ImplementationSpecific as Prefix
    ['path.test', '/aaa?next=/aaa/bbb', 's-aaa'], // P1: the query never matters
    ['path.test', '/aaa/./bbb', 's-aaabbb'], // P2 as revised: dot segments are removed before matching, as nginx does
    ['exact.test', '/foo', 's-exact-foo'], // P3
    ['exact.test', '/foo/', 'HTTP 404'], // P3, P16
    ['exact.test', '/FOO', 'HTTP 404'],
    ['prefixonly.test', '/ccc', 'HTTP 404'], // P13
    ['prefixonly.test', '/aaa/x', 's-aaa'],
  ];
  for (const [host, path, want] of cases) {
    test(`${host}${path} -> ${want}`, async () => {
      assert.equal(await podFor(host, path), want);
    });
  }
});

describe('hosts (H1-H9)', () => {
  const cases: [string, string][] = [
    ['foo.bar.com', 's-host'], // H2
    ['bar.foo.bar.com', 'HTTP 404'], // H3: two labels do not match *.bar.com
    ['baz.bar.com', 's-wild'], // H3
    ['bar.com', 'HTTP 404'], // H3: zero labels
    ['evil_x.bar.com', 'HTTP 404'], // H3: the first label must be a DNS label
    ['*.bar.com', 'HTTP 404'], // H3: "*" is not a label
    ['FOO.Bar.com', 's-host'], // H1, H9
    ['foo.bar.com:8080', 's-host'], // H1: port ignored
    ['foo.bar.com.', 's-host'], // H1: trailing dot
    ['subdomain.example.org', 'HTTP 404'], // H7
    ['127.0.0.1', 'HTTP 404'], // H8: no empty-host rule here
  ];
  for (const [host, want] of cases) {
    test(`Host ${host} -> ${want}`, async () => {
      assert.equal(await podFor(host, '/'), want);
    });
  }
});

describe('hosts and paths together', () => {
  const cases: [string, string, string][] = [
    ['PATH.test', '/foo', 's-exact-foo'], // H1 then P12
    ['path.test.', '/aaa/bbb/x', 's-aaabbb'], // H1 then P11
    ['path.test:8080', '/foo/', 's-prefix-foo'],
    ['exact.test:8080', '/foo/', 'HTTP 404'], // P16 after H1
    // A Host is a name, never part of the path: were it glued to the path, "/aaa" + "/bbb" would reach s-aaabbb.
    ['path.test/aaa', '/bbb', 'HTTP 404'],
    // Nor a list: the last item of "x, path.test" is not the host.
    ['x, path.test', '/aaa', 'HTTP 404'],
  ];
  for (const [host, path, want] of cases) {
    test(`Host ${host}, ${path} -> ${want}`, async () => {
      assert.equal(await podFor(host, path), want);
    });
  }
});

describe('classes (C1-C9)', () => {
  test('an Ingress of another controller is ignored (C2, C8)', async () => {
    assert.equal(await podFor('other.test', '/'), 'HTTP 404');
  });
  test('an Ingress naming a missing IngressClass is not owned (C3)', async () => {
    assert.equal(await podFor('noclass.test', '/'), 'HTTP 404');
  });
  test('an Ingress without class is owned through the implicit default class (C5)', async () => {
    assert.equal(await podFor('default-class.test', '/'), 's-default-class');
  });
  test('the legacy annotation with our class is owned, with another class not (C4)', async () => {
    assert.equal(await podFor('annot.test', '/'), 's-annot');
    assert.equal(await podFor('annot-nginx.test', '/'), 'HTTP 404');
  });
});

describe('backends (B*)', () => {
  test('a named Service port resolves to the pod port, not the Service port (B1, B2)', async () => {
    const r = await get('named.test', '/');
    assert.equal(r.status, 200);
    assert.match(r.json<EchoBody>().pod, /^named-[12]$/);
  });
  test('missing Service, unknown port and no ready endpoint answer 503 (B3, B13)', async () => {
    for (const host of ['missing-svc.test', 'missing-port.test', 'not-ready.test']) {
      const r = await get(host, '/');
      assert.equal(r.status, 503, host);
      assert.equal(r.headers.server, 'portico', host);
    }
  });
  test('a backend that refuses connections answers 502 (B17)', async () => {
    const r = await get('dead.test', '/');
    assert.equal(r.status, 502);
    assert.equal(r.headers.server, 'portico');
  });
  test('with no ready endpoint, a serving terminating one is used (B12)', async () => {
    assert.equal(await podFor('rolling.test', '/'), 'terminating');
  });
  test('backend status codes and redirects pass through untouched (X10)', async () => {
    assert.equal((await get('foo.bar.com', '/status/418')).status, 418);
    const r = await get('foo.bar.com', '/status/301');
    assert.equal(r.status, 301);
  });
});

describe('load balancing (L1, L2)', () => {
  test('100 requests on new connections reach all 10 pods of two slices (L1)', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const r = await get('lb.test', '/');
      assert.equal(r.status, 200);
      const pod = r.json<EchoBody>().pod;
      seen.set(pod, (seen.get(pod) ?? 0) + 1);
    }
    assert.equal(seen.size, 10, `pods seen: ${[...seen.keys()].join(', ')}`);
  });
});

describe('proxy behaviour (X1-X9)', () => {
  test('the backend sees the request as the client sent it, plus forwarding headers', async () => {
    const r = await httpGet(port, {
      host: 'foo.bar.com',
      path: '/sub-path?q=1',
      method: 'PATCH',
      headers: { 'user-agent': 'Go-http-client/1.1', 'x-custom': 'kept' },
      body: 'payload',
    });
    assert.equal(r.status, 200);
    const e = r.json<EchoBody>();
    assert.equal(e.host, 'foo.bar.com'); // X1
    assert.equal(e.method, 'PATCH'); // X2
    assert.equal(e.path, '/sub-path?q=1'); // X3
    assert.equal(e.proto, 'HTTP/1.1'); // X4
    assert.equal(e.headers['user-agent'], 'Go-http-client/1.1'); // X5
    assert.equal(e.headers['x-custom'], 'kept');
    assert.equal(e.body, 'payload');
    assert.equal(e.headers['x-forwarded-for'], '127.0.0.1'); // X9
    assert.equal(e.headers['x-forwarded-proto'], 'http');
    assert.equal(e.headers['x-forwarded-host'], 'foo.bar.com');
    assert.equal(e.headers['x-forwarded-port'], String(port));
    assert.equal(e.headers['x-real-ip'], '127.0.0.1');
    assert.match(e.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
    const again = (await get('foo.bar.com', '/')).json<EchoBody>();
    assert.notEqual(again.headers['x-request-id'], e.headers['x-request-id'], 'every request gets its own id');
    const given = (await get('foo.bar.com', '/', { 'x-request-id': 'trace-42' })).json<EchoBody>();
    assert.equal(given.headers['x-request-id'], 'trace-42', "the client's own id is kept");
  });
  test('the response keeps Content-Length, Content-Type and Date, and gains a Server header (X6, X7)', async () => {
    const r = await get('foo.bar.com', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
    assert.ok(r.headers.date);
    assert.equal(r.headers.server, 'portico');
  });
  test('an X-Forwarded-For from the client is kept and the client address appended (X9)', async () => {
    const e = (await get('foo.bar.com', '/', { 'x-forwarded-for': '203.0.113.7' })).json<EchoBody>();
    assert.match(e.headers['x-forwarded-for'] ?? '', /^203\.0\.113\.7, ?127\.0\.0\.1$/);
  });
  test('the 404 for an unmatched request comes from Portico with a Server header (D4)', async () => {
    const r = await get('nowhere.example', '/');
    assert.equal(r.status, 404);
    assert.equal(r.headers.server, 'portico');
    assert.match(r.body, /no Ingress rule matches/);
  });
});
