// load-balance and upstream-hash-by: the grammars (ingress-nginx's words and variables, nothing else), the policy
// (hash wins over ewma, affinity over both), the model (a backend of its own per set of values), render (the section
// lines from a fixed mapping, re-checked) and plan (a new such backend reloads; scaling is runtime).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BalancePolicy, RoutingModel } from '../../src/model/types.js';
import { balancePolicyOf, hashBy, loadBalance } from '../../src/translate/annotations/balance.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { balanceLines, renderConfig } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { OPTIONS, backend, group, model as renderModel, sectionLines, BACKEND } from './render-model.js';
import { DEFAULT_PEM, annotatedIngress as ing, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const P = 'nginx.ingress.kubernetes.io/';

const parsed = (raw: string): unknown => {
  const p = hashBy.parse(raw);
  return p.ok ? p.value : undefined;
};

void describe('load-balance and upstream-hash-by grammars', () => {
  test('load-balance: round_robin and ewma, case-sensitive as ingress-nginx; its other words refused with the reason', () => {
    assert.deepEqual(loadBalance.parse(' ewma '), { ok: true, value: 'ewma' });
    assert.deepEqual(loadBalance.parse('round_robin'), { ok: true, value: 'round_robin' });
    const c = loadBalance.parse('chash');
    assert.ok(!c.ok && /upstream-hash-by/.test(c.reason));
    for (const raw of ['EWMA', '', 'least_conn', 'sticky_balanced', 'ewma\n  balance source', 'constructor', '__proto__']) assert.equal(loadBalance.parse(raw).ok, false, JSON.stringify(raw));
  });

  test('upstream-hash-by: the served variables, $name and ${name}, literal text joined', () => {
    assert.deepEqual(parsed('$request_uri'), [{ variable: 'request_uri' }]);
    assert.deepEqual(parsed('${request_uri}'), [{ variable: 'request_uri' }]);
    assert.deepEqual(parsed('$http_x_user'), [{ variable: 'http', name: 'x-user' }]);
    assert.deepEqual(parsed('$HTTP_X_USER'), undefined);
    assert.deepEqual(parsed('$http_X_User'), [{ variable: 'http', name: 'x-user' }]);
    assert.deepEqual(parsed('$cookie_Sid'), [{ variable: 'cookie', name: 'Sid' }]);
    assert.deepEqual(parsed('$arg_id'), [{ variable: 'arg', name: 'id' }]);
    assert.deepEqual(parsed('$query_string'), [{ variable: 'args' }]);
    assert.deepEqual(parsed('$request_uri$host'), [{ variable: 'request_uri' }, { variable: 'host' }]);
    assert.deepEqual(parsed('${request_uri}-text_value'), [{ variable: 'request_uri' }, { text: '-text_value' }]);
    // Greedy as nginx: `$arg_id-x` is $arg_id then `-x`; `$arg_id_x` is the argument `id_x`.
    assert.deepEqual(parsed('$arg_id-x'), [{ variable: 'arg', name: 'id' }, { text: '-x' }]);
    assert.deepEqual(parsed('$arg_id_x'), [{ variable: 'arg', name: 'id_x' }]);
    for (const v of ['$uri', '$args', '$remote_addr', '$binary_remote_addr', '$request_method', '$host']) assert.ok(hashBy.parse(v).ok, v);
  });

  test('upstream-hash-by refuses other variables, characters, text alone, empty and long values', () => {
    const why = hashBy.parse('$request_body');
    assert.ok(!why.ok && /is not one of/.test(why.reason));
    const hostile = [
      '', '  ', 'text', '$', '${}', '${request_uri', '$request_uri}', '{x}', '$1', '$http_', '$cookie_', '$arg_',
      '$request_uri x', '$request_uri\n  server evil 1.2.3.4:80', '$request_uri#', '%[src]', '$request_uri,lower', 'req.hdr(x)',
      '$remote_addr"', "$remote_addr'", '$constructor', '$__proto__', '$http_constructor(', '$ssl_client_s_dn', `$http_${'a'.repeat(65)}`,
      `$request_uri${'-'.repeat(260)}`, '$uri$uri$uri$uri$uri$uri$uri$uri$uri',
    ];
    for (const raw of hostile) assert.equal(hashBy.parse(raw).ok, false, JSON.stringify(raw));
  });
});

void describe('balance policy', () => {
  test('none, round_robin: no policy; ewma: leastconn; upstream-hash-by wins over ewma', () => {
    assert.equal(balancePolicyOf({}, false), undefined);
    assert.equal(balancePolicyOf({ loadBalance: 'round_robin' }, false), undefined);
    assert.equal(balancePolicyOf({ loadBalance: 'ewma' }, false)!.algorithm, 'leastconn');
    const h = balancePolicyOf({ loadBalance: 'ewma', upstreamHashBy: [{ variable: 'request_uri' }] }, false)!;
    assert.equal(h.algorithm, 'hash');
    assert.deepEqual(h.key, [{ variable: 'request_uri' }]);
    assert.match(h.id, /^[0-9a-f]{8}$/);
  });

  test('affinity wins over both, with warning A1; subset is warned about', () => {
    assert.equal(balancePolicyOf({ loadBalance: 'ewma', upstreamHashBy: [{ variable: 'uri' }] }, true), undefined);
    const f = new Findings('Ingress default/x');
    const v = parseIngressAnnotations({ [`${P}affinity`]: 'cookie', [`${P}upstream-hash-by`]: '$request_uri', [`${P}upstream-hash-by-subset`]: 'true' }, f);
    assert.ok(f.list.some((d) => d.rule === 'A1' && /affinity is set/.test(d.message)));
    assert.ok(f.list.some((d) => d.rule === 'A1' && /subset is not served/.test(d.message)));
    assert.deepEqual(v.upstreamHashBy, [{ variable: 'request_uri' }]);
  });

  test('the id follows the values', () => {
    const a = (key: BalancePolicy['key']): string => balancePolicyOf({ upstreamHashBy: key! }, false)!.id;
    assert.equal(a([{ variable: 'request_uri' }]), a([{ variable: 'request_uri' }]));
    assert.notEqual(a([{ variable: 'request_uri' }]), a([{ variable: 'uri' }]));
    assert.notEqual(a([{ variable: 'http', name: 'a' }]), a([{ variable: 'http', name: 'b' }]));
    assert.notEqual(balancePolicyOf({ loadBalance: 'ewma' }, false)!.id, a([{ variable: 'uri' }]));
  });

  test('the model: a backend per Service port and balance values, the plain one untouched; affinity keeps the sticky one', () => {
    const m = model(
      svc('web', ['10.0.0.1']) +
        ing('a', 'a.test', 'web', { 'upstream-hash-by': '$request_uri' }) +
        ing('b', 'b.test', 'web') +
        ing('c', 'c.test', 'web', { 'load-balance': 'chash' }) +
        ing('d', 'd.test', 'web', { 'load-balance': 'round_robin' }) +
        ing('e', 'e.test', 'web', { affinity: 'cookie', 'load-balance': 'ewma' }),
    );
    const names = m.backends.map((b) => b.name).sort();
    assert.equal(names.length, 3);
    assert.equal(names[0], 'be_default_web_80');
    assert.match(names[1]!, /^be_default_web_80_lb[0-9a-f]{8}$/);
    assert.equal(names[2], 'be_default_web_80_sticky');
    assert.equal(m.backends.find((b) => b.name === names[2])!.policy!.balance, undefined);
  });
});

void describe('balance policy rendered', () => {
  const lb = (p: Omit<BalancePolicy, 'id'>): BalancePolicy => ({ id: 'x', ...p });

  test('the plain section keeps round robin; ewma is leastconn; one variable is its sample; several are joined', () => {
    assert.deepEqual(balanceLines(undefined), ['  balance roundrobin']);
    assert.deepEqual(balanceLines(lb({ algorithm: 'leastconn' })), ['  balance leastconn']);
    const hashType = '  hash-type consistent sdbm avalanche';
    const one: [BalancePolicy['key'], string][] = [
      [[{ variable: 'request_uri' }], 'capture.req.uri'],
      [[{ variable: 'uri' }], 'path'],
      [[{ variable: 'args' }], 'query'],
      [[{ variable: 'host' }], 'req.fhdr(host),lower,field(1,:)'],
      [[{ variable: 'remote_addr' }], 'src'],
      [[{ variable: 'binary_remote_addr' }], 'src'],
      [[{ variable: 'request_method' }], 'method'],
      [[{ variable: 'http', name: 'x-user' }], 'req.fhdr(x-user,1)'],
      [[{ variable: 'cookie', name: 'sid' }], 'req.cook(sid)'],
      [[{ variable: 'arg', name: 'id' }], 'url_param(id)'],
    ];
    for (const [key, sample] of one) assert.deepEqual(balanceLines(lb({ algorithm: 'hash', key })), [`  balance hash ${sample}`, hashType]);
    assert.deepEqual(balanceLines(lb({ algorithm: 'hash', key: [{ variable: 'request_uri' }, { text: '-v1' }, { variable: 'cookie', name: 'sid' }] })), [
      '  http-request set-var-fmt(txn.hash_key) %[capture.req.uri]-v1%[req.cook(sid)]',
      '  balance hash var(txn.hash_key)',
      hashType,
    ]);
  });

  test('the section: balance lines replace round robin, everything else unchanged; spares stay plain', () => {
    const p = balancePolicyOf({ upstreamHashBy: [{ variable: 'http', name: 'x-user' }] }, false)!;
    const cfg = renderConfig(renderModel({ backends: [backend({ policy: { balance: p } })], hostGroups: [group()] }), OPTIONS);
    const lines = sectionLines(cfg, `backend ${BACKEND}`);
    assert.ok(lines.includes('balance hash req.fhdr(x-user,1)'));
    assert.ok(!lines.includes('balance roundrobin'));
    for (const want of ['retries 2', 'option redispatch 1']) assert.ok(lines.includes(want));
    assert.ok(sectionLines(cfg, 'backend spare_0').includes('balance roundrobin'));
  });

  test('render re-checks every token (fails closed)', () => {
    const bad = [
      { id: 'x', algorithm: 'source' },
      { id: 'x', algorithm: 'leastconn', key: [{ variable: 'uri' }] },
      { id: 'x', algorithm: 'hash' },
      { id: 'x', algorithm: 'hash', key: [] },
      { id: 'x', algorithm: 'hash', key: [{ text: 'abc' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'request_body' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'constructor' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'uri', name: 'x' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'http' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'http', name: 'x)\n  server evil 1.2.3.4:80' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'cookie', name: 'a b' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'uri' }, { text: 'a b' }] },
      { id: 'x', algorithm: 'hash', key: [{ variable: 'uri' }, { text: '%[src]' }] },
      { id: 'x', algorithm: 'hash', key: Array.from({ length: 9 }, () => ({ variable: 'uri' })) },
    ] as unknown as BalancePolicy[];
    for (const b of bad) {
      assert.throws(() => balanceLines(b), /render: refusing/, JSON.stringify(b));
      assert.throws(() => renderConfig(renderModel({ backends: [backend({ policy: { balance: b } })], hostGroups: [group()] }), OPTIONS), /render: refusing/);
    }
  });
});

void describe('balance policy at runtime', () => {
  const web = (ips: string[]): string => svc('web', ips);
  const A = { 'upstream-hash-by': '$request_uri' };

  test('a new balance backend takes a reload even with spares free; afterwards scaling it is runtime', () => {
    const start = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    for (const a of [A, { 'load-balance': 'ewma' }]) {
      const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', a));
      assert.deepEqual(plan(start, next, DEFAULT_PEM), { reload: `backend ${next.backends[0]!.name}: a balance policy needs a section of its own` });
    }
    const next = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const name = next.backends[0]!.name;
    const live = reloadedWith(next);
    const p = ops(live, model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web', A)));
    assert.deepEqual(opSummary(p.ops), [`add-server ${name}/ep_10_0_0_2_3000`, `del-server ${name}/ep_10_0_0_1_3000_twin`]);
  });

  test('load-balance round_robin is the plain backend: runtime, no reload', () => {
    const start = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    const p = ops(start, model(web(['10.0.0.1']) + ing('s', 's.test', 'web', { 'load-balance': 'round_robin' })));
    assert.deepEqual(opSummary(p.ops), []);
  });

  test('dropping the annotation is runtime when a spare is free', () => {
    const live = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A)));
    const p = ops(live, model(web(['10.0.0.1']) + ing('s', 's.test', 'web')));
    assert.ok(opSummary(p.ops).some((o) => o.startsWith('add-server spare_0/')));
  });

  test('a balance policy changed under the same name is a reload (defence: names carry the id)', () => {
    const m = model(web(['10.0.0.1']) + ing('s', 's.test', 'web', A));
    const changed: RoutingModel = { ...m, backends: m.backends.map((b) => ({ ...b, policy: { balance: { ...b.policy!.balance!, id: 'other' } } })) };
    assert.deepEqual(plan(reloadedWith(m), changed, DEFAULT_PEM), { reload: `backend ${m.backends[0]!.name}: protocol, affinity, TLS, retry, balance or FastCGI policy changed` });
  });
});
