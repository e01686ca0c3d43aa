// backend-protocol FCGI and fastcgi-index: the grammars (ingress-nginx's, hostile text refused), the policy and the
// model (a backend of its own per Service port and policy, fcgi-apps shared by equal policies), render (the fcgi-app
// section, params given directly as fastcgi-params-configmap will give them, every token re-checked, and the real
// `haproxy -c` accepting it) and plan (a new FastCGI backend reloads; scaling it is runtime with `proto fcgi`).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendPolicy, FastCgiParam, RoutingModel } from '../../src/model/types.js';
import { fastcgiIndex, fastcgiParam, fastcgiPolicyOf } from '../../src/translate/annotations/fastcgi.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { renderConfig, serverArgs } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { OPTIONS, backend, group, model as renderModel, sectionLines, server, BACKEND } from './render-model.js';
import { DEFAULT_PEM, annotatedIngress as ing, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const P = 'nginx.ingress.kubernetes.io/';

const FCGI = { 'backend-protocol': 'FCGI' };
const fcgiPolicy = (index?: string, params: FastCgiParam[] = []): BackendPolicy => {
  const fastcgi = fastcgiPolicyOf({ backendProtocol: 'fcgi', ...(index !== undefined ? { fastcgiIndex: index } : {}) }, params)!;
  return { protocol: 'fcgi', fastcgi };
};
const HOSTILE = ['', 'x.php\n  server evil 10.0.0.9:80', 'index.php ', ' index.php', 'a b', '"x"', "x'", 'x#y', '{x}', 'x;y', 'x/y', '%[src]', 'x\ty', 'x\0', 'ïndex.php', `${'i'.repeat(256)}`, `${'i'.repeat(1 << 20)}.php`];

void describe('fastcgi-index grammar', () => {
  test("ingress-nginx's file names pass as written", () => {
    for (const raw of ['index.php', 'INDEX.PHP', 'main-1_2.php', 'app', '.htindex', 'i'.repeat(255)]) assert.deepEqual(fastcgiIndex.parse(raw), { ok: true, value: raw });
  });

  test('hostile values are refused: line breaks, spaces, quotes, comments, braces, slashes, samples, `.` and `..`, a megabyte', () => {
    for (const raw of [...HOSTILE, '.', '..']) assert.equal(fastcgiIndex.parse(raw).ok, false, JSON.stringify(raw.slice(0, 40)));
  });

  test('A1 names the key and the value; the portico.dev/ value wins', () => {
    const f = new Findings('Ingress default/x');
    assert.deepEqual(parseIngressAnnotations({ [`${P}fastcgi-index`]: 'x y' }, f), {});
    assert.deepEqual(f.list.map((d) => [d.rule, d.field, d.message]), [['A1', `metadata.annotations[${P}fastcgi-index]`, '"x y" is not a file name (letters, digits, ., - and _, at most 255); the annotation is ignored']]);
    assert.deepEqual(parseIngressAnnotations({ [`${P}fastcgi-index`]: 'a.php', 'portico.dev/fastcgi-index': 'b.php' }, new Findings('Ingress default/x')), { fastcgiIndex: 'b.php' });
  });
});

void describe('FastCGI params grammar (for fastcgi-params-configmap)', () => {
  test("ingress-nginx's names and values without nginx variables; empty values too", () => {
    for (const [n, v] of [['SCRIPT_FILENAME', '/var/www/html/index.php'], ['app.env', 'prod-1'], ['X', '']] as const) assert.deepEqual(fastcgiParam(n, v), { ok: true, value: { name: n, value: v } });
  });

  test('nginx variables and braces are refused with the reason; hostile names and values too', () => {
    const vars = fastcgiParam('SCRIPT_FILENAME', '$document_root$fastcgi_script_name');
    assert.ok(!vars.ok && /nginx variable/.test(vars.reason));
    for (const bad of HOSTILE.filter((h) => h !== '')) {
      assert.equal(fastcgiParam(bad, 'x').ok, false, `name ${JSON.stringify(bad.slice(0, 40))}`);
      if (!/^[A-Za-z0-9_/.-]{1,1024}$/.test(bad)) assert.equal(fastcgiParam('X', bad).ok, false, `value ${JSON.stringify(bad.slice(0, 40))}`);
    }
    assert.equal(fastcgiParam('', 'x').ok, false);
    assert.equal(fastcgiParam('X', 'v'.repeat(1025)).ok, false);
  });
});

void describe('FastCGI policy and model', () => {
  test('only with FCGI; the id follows the index and the params, not their order', () => {
    assert.equal(fastcgiPolicyOf({ fastcgiIndex: 'index.php' }), undefined);
    assert.equal(fastcgiPolicyOf({ backendProtocol: 'https', fastcgiIndex: 'index.php' }), undefined);
    const a = fastcgiPolicyOf({ backendProtocol: 'fcgi', fastcgiIndex: 'index.php' })!;
    assert.deepEqual(a, { id: a.id, index: 'index.php', params: [] });
    assert.match(a.id, /^[0-9a-f]{8}$/);
    assert.notEqual(fastcgiPolicyOf({ backendProtocol: 'fcgi' })!.id, a.id);
    assert.notEqual(fastcgiPolicyOf({ backendProtocol: 'fcgi', fastcgiIndex: 'main.php' })!.id, a.id);
    const p1 = fastcgiPolicyOf({ backendProtocol: 'fcgi' }, [{ name: 'B', value: '2' }, { name: 'A', value: '1' }])!;
    const p2 = fastcgiPolicyOf({ backendProtocol: 'fcgi' }, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }])!;
    assert.deepEqual(p1, p2);
    assert.notEqual(fastcgiPolicyOf({ backendProtocol: 'fcgi' }, [{ name: 'A', value: '9' }, { name: 'B', value: '2' }])!.id, p1.id);
  });

  test('the model: a backend per Service port and index, named _fcgi_app<id>, servers named _fcgi; equal values share it', () => {
    const services = svc('web', ['10.0.0.1']);
    const m = model(services + ing('a', 'a.test', 'web') + ing('b', 'b.test', 'web', FCGI) + ing('c', 'c.test', 'web', { ...FCGI, 'fastcgi-index': 'index.php' }) + ing('d', 'd.test', 'web', { ...FCGI, 'fastcgi-index': 'index.php' }) + ing('e', 'e.test', 'web', { 'fastcgi-index': 'index.php' }));
    const noIndex = fastcgiPolicyOf({ backendProtocol: 'fcgi' })!.id;
    const php = fastcgiPolicyOf({ backendProtocol: 'fcgi', fastcgiIndex: 'index.php' })!.id;
    assert.deepEqual(
      m.backends.map((b) => [b.name, b.policy?.fastcgi?.index, b.servers.map((s) => s.name)]).sort(),
      [
        ['be_default_web_80', undefined, ['ep_10_0_0_1_3000']],
        [`be_default_web_80_fcgi_app${noIndex}`, undefined, ['ep_10_0_0_1_3000_fcgi']],
        [`be_default_web_80_fcgi_app${php}`, 'index.php', ['ep_10_0_0_1_3000_fcgi']],
      ].sort(),
    );
    const routeOf = (host: string): string => m.hostGroups.find((g) => g.key === host)!.prefix[0]!.backend;
    assert.equal(routeOf('c.test'), routeOf('d.test'));
    assert.equal(routeOf('e.test'), 'be_default_web_80');
  });
});

void describe('FastCGI rendered', () => {
  const config = (policy: BackendPolicy): string => renderConfig(renderModel({ backends: [backend({ policy })], hostGroups: [group()] }), OPTIONS);

  test('the section names its fcgi-app and its servers say proto fcgi; the fcgi-app holds the docroot, index and params', () => {
    const policy = fcgiPolicy('index.php');
    const c = config(policy);
    const id = policy.fastcgi!.id;
    assert.deepEqual(sectionLines(c, `backend ${BACKEND}`), ['balance roundrobin', 'retries 2', 'option redispatch 1', `use-fcgi-app fcgi_${id}`, 'server ep_10_0_0_1_8080 10.0.0.1:8080 proto fcgi', 'server ep_10_0_0_1_8080_twin 10.0.0.1:8080 proto fcgi']);
    assert.deepEqual(sectionLines(c, `fcgi-app fcgi_${id}`), [
      'docroot /usr/local/nginx/html',
      'index index.php',
      'pass-header Authorization',
      'set-param REMOTE_ADDR %[req.hdr(x-real-ip)]',
      'set-param REQUEST_SCHEME %[req.hdr(x-forwarded-proto)]',
      'set-param SERVER_PORT %[req.hdr(x-forwarded-port)]',
      'set-param HTTPS on if { req.hdr(x-forwarded-proto) https }',
      'set-param DOCUMENT_URI %[path]',
      'set-param REDIRECT_STATUS 200',
    ]);
    assert.equal(serverArgs(server(), policy), 'ep_10_0_0_1_8080 10.0.0.1:8080 proto fcgi');
  });

  test('params given directly: written after Portico\'s, replacing Portico\'s of the same name (as HAProxy compares names); empty is %[str()]', () => {
    const policy = fcgiPolicy(undefined, [{ name: 'SCRIPT_FILENAME', value: '/var/www/html/index.php' }, { name: 'redirect.status', value: '201' }, { name: 'APP_ENV', value: '' }]);
    const lines = sectionLines(config(policy), `fcgi-app fcgi_${policy.fastcgi!.id}`);
    assert.deepEqual(lines, [
      'docroot /usr/local/nginx/html',
      'pass-header Authorization',
      'set-param REMOTE_ADDR %[req.hdr(x-real-ip)]',
      'set-param REQUEST_SCHEME %[req.hdr(x-forwarded-proto)]',
      'set-param SERVER_PORT %[req.hdr(x-forwarded-port)]',
      'set-param HTTPS on if { req.hdr(x-forwarded-proto) https }',
      'set-param DOCUMENT_URI %[path]',
      'set-param APP_ENV %[str()]',
      'set-param SCRIPT_FILENAME /var/www/html/index.php',
      'set-param redirect.status 201',
    ]);
  });

  test('an ExternalName FastCGI backend names its fcgi-app and its server says proto fcgi before the resolver settings', () => {
    const policy = fcgiPolicy('index.php');
    const lines = sectionLines(renderConfig(renderModel({ backends: [backend({ servers: [], externalName: { host: 'php.example.com', port: 9000 }, policy })], hostGroups: [group()] }), OPTIONS), `backend ${BACKEND}`);
    assert.ok(lines.includes(`use-fcgi-app fcgi_${policy.fastcgi!.id}`));
    assert.equal(lines.find((l) => l.startsWith('server ')), 'server external php.example.com:9000 proto fcgi resolvers portico_dns resolve-prefer ipv4 init-addr last,libc,none');
  });

  test('no FastCGI backend: no fcgi-app section; backends with one policy share one', () => {
    assert.doesNotMatch(config({ protocol: 'grpc' }), /fcgi/);
    const policy = fcgiPolicy('index.php');
    const two = renderConfig(renderModel({ backends: [backend({ policy }), backend({ name: 'be_default_api_80', policy })], hostGroups: [group()] }), OPTIONS);
    assert.equal(two.match(/^fcgi-app /gm)?.length, 1);
    assert.equal(two.match(/^ {2}use-fcgi-app /gm)?.length, 2);
  });

  test('render re-checks every token (fails closed): index, params, id, a protocol without its fcgi-app and the reverse', () => {
    const good = fcgiPolicy('index.php');
    const bads: BackendPolicy[] = [
      ...HOSTILE.filter((h) => h !== '').map((h) => ({ ...good, fastcgi: { ...good.fastcgi!, index: h } })),
      { ...good, fastcgi: { ...good.fastcgi!, index: '..' } },
      ...HOSTILE.map((h) => ({ ...good, fastcgi: { ...good.fastcgi!, params: [{ name: h, value: 'x' }] } })),
      ...HOSTILE.filter((h) => !/^[A-Za-z0-9_/.-]{0,1024}$/.test(h)).map((h) => ({ ...good, fastcgi: { ...good.fastcgi!, params: [{ name: 'X', value: h }] } })),
      { ...good, fastcgi: { ...good.fastcgi!, params: [{ name: 'X', value: '$document_root' }] } },
      ...['', 'x', '0123abcg', '0123abcd\n', '0123abcd0'].map((id) => ({ ...good, fastcgi: { ...good.fastcgi!, id } })),
      { protocol: 'fcgi' },
      { fastcgi: good.fastcgi! },
      { protocol: 'https', fastcgi: good.fastcgi! },
    ];
    for (const policy of bads) assert.throws(() => config(policy), /render: refusing/, JSON.stringify(policy).slice(0, 120));
  });

  test('the real haproxy -c accepts the fcgi-app with an index and params given directly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-fcgi-'));
    try {
      const policy = fcgiPolicy('index.php', [{ name: 'SCRIPT_FILENAME', value: '/var/www/html/index.php' }, { name: 'X', value: '' }, { name: 'REMOTE_ADDR', value: '10.0.0.1' }]);
      const m: RoutingModel = renderModel({ backends: [backend({ policy })], hostGroups: [group()] });
      // Only the fcgi-app and the backend: the rest of the configuration needs files this test does not write.
      const c = renderConfig(m, OPTIONS);
      const section = (h: string): string => [h, ...sectionLines(c, h).map((l) => `  ${l}`)].join('\n');
      const text = ['defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s', `frontend f\n  bind 127.0.0.1:1\n  default_backend ${BACKEND}`, section(`fcgi-app fcgi_${policy.fastcgi!.id}`), section(`backend ${BACKEND}`)].join('\n\n');
      writeFileSync(join(dir, 'h.cfg'), `${text}\n`);
      execFileSync('haproxy', ['-c', '-f', join(dir, 'h.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('FastCGI at runtime', () => {
  const web = (ips: string[]): string => svc('web', ips);
  const A = { ...FCGI, 'fastcgi-index': 'index.php' };

  test('a new FastCGI backend takes a reload even with spares free; afterwards scaling it is runtime, servers with proto fcgi', () => {
    const start = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    for (const a of [FCGI, A]) {
      const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', a));
      assert.deepEqual(plan(start, next, DEFAULT_PEM), { reload: `backend ${next.backends[0]!.name}: a FastCGI backend needs a section of its own` });
    }
    const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const name = next.backends[0]!.name;
    const p = ops(reloadedWith(next), model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web', A)));
    assert.deepEqual(opSummary(p.ops), [`add-server ${name}/ep_10_0_0_2_3000_fcgi`, `del-server ${name}/ep_10_0_0_1_3000_fcgi_twin`]);
    const add = p.ops.find((o) => o.op === 'add-server');
    assert.ok(add && add.op === 'add-server' && serverArgs(add.server, add.policy, add.dir).endsWith(' proto fcgi'));
  });

  test('a changed fastcgi-index is another backend: a reload', () => {
    const live = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A)));
    const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', { ...FCGI, 'fastcgi-index': 'main.php' }));
    assert.deepEqual(plan(live, next, DEFAULT_PEM), { reload: `backend ${next.backends[0]!.name}: a FastCGI backend needs a section of its own` });
  });

  test('dropping FCGI is runtime when a spare is free', () => {
    const live = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A)));
    const p = ops(live, model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    assert.ok(opSummary(p.ops).some((o) => o.startsWith('add-server spare_0/')));
  });

  test('a FastCGI policy changed under the same name is a reload (defence: names carry the id)', () => {
    const m = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const changed: RoutingModel = { ...m, backends: m.backends.map((b) => ({ ...b, policy: { ...b.policy!, fastcgi: { ...b.policy!.fastcgi!, id: '00000000' } } })) };
    assert.deepEqual(plan(reloadedWith(m), changed, DEFAULT_PEM), { reload: `backend ${m.backends[0]!.name}: protocol, affinity, TLS, retry, balance or FastCGI policy changed` });
  });
});
