// backend-protocol from annotation to runtime operation: the grammar (ingress-nginx's values and case rules, Portico's
// H2C, hostile text), the model (a backend per Service port and protocol), render (the server options of each
// protocol, re-checked), and plan (servers added at runtime carry the options; what is runtime and what reloads).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendProtocol, RoutingModel } from '../../src/model/types.js';
import { backendProtocol } from '../../src/translate/annotations/upstream.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { renderConfig, serverArgs, serverOptions } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { BACKEND, OPTIONS, backend, group, model as renderModel, sectionLines, server } from './render-model.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const KEY = 'nginx.ingress.kubernetes.io/backend-protocol';

const ing = (name: string, host: string, service: string, protocol?: string): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}${protocol === undefined ? '' : `, annotations: {${KEY}: ${JSON.stringify(protocol)}}`}}
spec:
  rules: [{host: ${host}, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}]}}]
---`;

const parsed = (raw: string): unknown => {
  const p = backendProtocol.parse(raw);
  return p.ok ? p.value : undefined;
};

void describe('backend-protocol grammar', () => {
  test("ingress-nginx's values in any case, spaces around them ignored; H2C is Portico's", () => {
    for (const [raw, want] of [
      ['HTTP', 'http'], ['http', 'http'], ['HTTPS', 'https'], ['Https', 'https'], ['GRPC', 'grpc'], ['gRPC', 'grpc'],
      ['GRPCS', 'grpcs'], ['grpcs', 'grpcs'], ['H2C', 'h2c'], ['h2c', 'h2c'], ['  GRPC ', 'grpc'], ['FCGI', 'fcgi'], ['fcgi', 'fcgi'], [' Fcgi ', 'fcgi'],
    ] as const) assert.equal(parsed(raw), want, raw);
  });

  test('AUTO_HTTP, which ingress-nginx has, is refused with a reason that says it is not supported yet', () => {
    for (const raw of [' AUTO_HTTP', 'auto_http', 'AUTO_HTTP']) {
      const p = backendProtocol.parse(raw);
      assert.equal(p.ok, false, raw);
      assert.match(p.ok ? '' : p.reason, /not supported yet; requests go to the backend over plain HTTP$/, raw);
    }
  });

  test('hostile values are refused: line breaks, tabs, quotes, comments, braces, HAProxy keywords, a megabyte', () => {
    const hostile = [
      'GRPC\n', '\nGRPC', 'GRPC\r\n', '\tGRPC', 'GRPC\0', '"GRPC"', "'https'", 'GRPC #', '#GRPC', '{GRPC}', 'HTTPS ssl verify required',
      'https\n  server evil 10.0.0.1:80', 'proto h2', 'ssl', 'h2', 'HTTP/2', 'HTTPS,GRPC', 'GRPC S', 'constructor', '__proto__', 'toString', '',
      'G'.repeat(1 << 20), ' '.repeat(1 << 20) + 'x', `GRPC${' '.repeat(1 << 20)}x`,
    ];
    for (const raw of hostile) assert.equal(backendProtocol.parse(raw).ok, false, JSON.stringify(raw.slice(0, 40)));
  });

  test('a megabyte of spaces is judged in linear time', () => {
    const start = process.hrtime.bigint();
    backendProtocol.parse(`${' '.repeat(4 << 20)}x${' '.repeat(4 << 20)}`);
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
  });

  test('A1 names the key and the value; the portico.dev/ value wins, HTTP included', () => {
    const f = new Findings('Ingress default/x');
    assert.deepEqual(parseIngressAnnotations({ [KEY]: 'SPDY' }, f), {});
    assert.deepEqual(
      f.list.map((d) => [d.rule, d.field, d.message]),
      [['A1', `metadata.annotations[${KEY}]`, '"SPDY" is not one of "http", "https", "grpc", "grpcs", "h2c", "fcgi"; the annotation is ignored']],
    );
    assert.deepEqual(parseIngressAnnotations({ [KEY]: 'GRPC', 'portico.dev/backend-protocol': 'HTTP' }, new Findings('Ingress default/x')), { backendProtocol: 'http' });
  });
});

void describe('backend-protocol in the model', () => {
  const services = svc('web', ['10.0.0.1']) + svc('api', ['10.0.0.2']);

  test('each protocol gets its own backend name; plain HTTP keeps the name without suffix', () => {
    const m = model(services + ing('a', 'a.test', 'web') + ing('b', 'b.test', 'web', 'HTTPS') + ing('c', 'c.test', 'web', 'grpc') + ing('d', 'd.test', 'web', 'GRPCS') + ing('e', 'e.test', 'web', 'H2C') + ing('f', 'f.test', 'web', 'http'));
    assert.deepEqual(
      m.backends.map((b) => [b.name, b.policy?.protocol, b.servers.map((s) => s.name)]),
      [
        ['be_default_web_80', undefined, ['ep_10_0_0_1_3000']],
        ['be_default_web_80_grpc', 'grpc', ['ep_10_0_0_1_3000_grpc']],
        ['be_default_web_80_grpcs', 'grpcs', ['ep_10_0_0_1_3000_grpcs']],
        ['be_default_web_80_h2c', 'h2c', ['ep_10_0_0_1_3000_h2c']],
        ['be_default_web_80_https', 'https', ['ep_10_0_0_1_3000_https']],
      ],
    );
    const routeOf = (host: string): string => m.hostGroups.find((g) => g.key === host)!.prefix[0]!.backend;
    assert.deepEqual(['a', 'b', 'c', 'f'].map((h) => routeOf(`${h}.test`)), ['be_default_web_80', 'be_default_web_80_https', 'be_default_web_80_grpc', 'be_default_web_80']);
  });

  test('two Ingresses on one host and Service port with different protocols keep theirs, per path', () => {
    const two = services + ing('x', 'x.test', 'api', 'GRPC').replace('path: /,', 'path: /grpc,') + ing('y', 'x.test', 'api');
    const g = model(two).hostGroups.find((h) => h.key === 'x.test')!;
    assert.deepEqual(g.prefix.map((r) => [r.path, r.backend]), [['/', 'be_default_api_80'], ['/grpc', 'be_default_api_80_grpc']]);
  });

  test('an invalid value leaves the Ingress on plain HTTP', () => {
    const m = model(services + ing('a', 'a.test', 'web', 'AUTO_HTTP'));
    assert.deepEqual(m.backends.map((b) => [b.name, b.policy]), [['be_default_web_80', undefined]]);
  });
});

void describe('backend-protocol in render', () => {
  const options: Record<BackendProtocol, string> = {
    https: ' ssl verify none alpn http/1.1',
    grpc: ' proto h2',
    h2c: ' proto h2',
    grpcs: ' ssl verify none alpn h2 proto h2',
    fcgi: ' proto fcgi',
  };

  test('each protocol writes its server options on every server line of its section, the twin included', () => {
    for (const [protocol, want] of Object.entries(options) as [BackendProtocol, string][]) {
      const policy = protocol === 'fcgi' ? { protocol, fastcgi: { id: '0123abcd', params: [] } } : { protocol };
      const m: RoutingModel = renderModel({ backends: [backend({ policy })], hostGroups: [group()] });
      const lines = sectionLines(renderConfig(m, OPTIONS), `backend ${BACKEND}`).filter((l) => l.startsWith('server '));
      assert.deepEqual(lines, [`server ep_10_0_0_1_8080 10.0.0.1:8080${want}`, `server ep_10_0_0_1_8080_twin 10.0.0.1:8080${want}`], protocol);
    }
    const plain = sectionLines(renderConfig(renderModel({ backends: [backend()], hostGroups: [group()] }), OPTIONS), `backend ${BACKEND}`);
    assert.deepEqual(plain.filter((l) => l.startsWith('server ')), ['server ep_10_0_0_1_8080 10.0.0.1:8080', 'server ep_10_0_0_1_8080_twin 10.0.0.1:8080']);
  });

  test('an ExternalName backend carries the options before its resolver settings', () => {
    const m = renderModel({ backends: [backend({ servers: [], externalName: { host: 'api.example.com', port: 443 }, policy: { protocol: 'https' } })], hostGroups: [group()] });
    const line = sectionLines(renderConfig(m, OPTIONS), `backend ${BACKEND}`).find((l) => l.startsWith('server '));
    assert.equal(line, 'server external api.example.com:443 ssl verify none alpn http/1.1 resolvers portico_dns resolve-prefer ipv4 init-addr last,libc,none');
  });

  test('render refuses a protocol outside the enum, whatever a bug upstream put there', () => {
    for (const bad of ['http', 'https verify required', 'proto h2\n  server x', 'constructor', 'toString', '__proto__', '']) {
      const policy = { protocol: bad as BackendProtocol };
      assert.throws(() => serverOptions(policy), /render: refusing backend protocol/, bad);
      assert.throws(() => renderConfig(renderModel({ backends: [backend({ policy })], hostGroups: [group()] }), OPTIONS), /render: refusing/, bad);
    }
    assert.equal(serverArgs(server(), { protocol: 'grpc' }), 'ep_10_0_0_1_8080 10.0.0.1:8080 proto h2');
  });
});

void describe('backend-protocol at runtime', () => {
  const web = (ips: string[]): string => svc('web', ips);

  test('servers added to an HTTPS backend carry its options; plain ones carry none', () => {
    const start = reloadedWith(model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web', 'HTTPS') + ing('p', 'p.test', 'web')));
    const p = ops(start, model(web(['10.0.0.1', '10.0.0.2', '10.0.0.3']) + ing('s', 's.test', 'web', 'HTTPS') + ing('p', 'p.test', 'web')));
    assert.deepEqual(
      p.ops.map((o) => (o.op === 'add-server' ? `${o.section}/${serverArgs(o.server, o.policy)}` : o.op)),
      ['be_default_web_80/ep_10_0_0_3_3000 10.0.0.3:3000', 'be_default_web_80_https/ep_10_0_0_3_3000_https 10.0.0.3:3000 ssl verify none alpn http/1.1'],
    );
  });

  test('a protocol changed on a live Ingress is a new backend on a spare section plus a route update: no reload', () => {
    const start = reloadedWith(model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web')));
    const p = ops(start, model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web', 'GRPC')));
    assert.deepEqual(opSummary(p.ops), [
      'add-server spare_0/ep_10_0_0_1_3000_grpc',
      'add-server spare_0/ep_10_0_0_2_3000_grpc',
      'map-set maps/paths.map s.test/ --|spare_0',
      'del-server be_default_web_80/ep_10_0_0_1_3000',
      'del-server be_default_web_80/ep_10_0_0_2_3000',
    ]);
    assert.ok(p.ops.every((o) => o.op !== 'add-server' || o.policy?.protocol === 'grpc'));
    // And back: the named plain section takes its servers again, the spare is freed.
    const back = ops(p.next, model(web(['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web')));
    assert.deepEqual(opSummary(back.ops).slice(0, 3), ['add-server be_default_web_80/ep_10_0_0_1_3000', 'add-server be_default_web_80/ep_10_0_0_2_3000', 'map-set maps/paths.map s.test/ --|be_default_web_80']);
    assert.deepEqual(back.next.free, ['spare_1', 'spare_0']);
  });

  test('with no spare left, a new protocol takes a reload; a changed ExternalName protocol too', () => {
    const start = reloadedWith(model(web(['10.0.0.1']) + ing('s', 's.test', 'web')), 0);
    assert.deepEqual(plan(start, model(web(['10.0.0.1']) + ing('s', 's.test', 'web', 'HTTPS')), DEFAULT_PEM), { reload: 'no spare backend section left for be_default_web_80_https' });
    const ext = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: ExternalName, externalName: api.example.com, ports: [{port: 80}]}
---`;
    const live = reloadedWith(model(ext + ing('s', 's.test', 'web')));
    assert.deepEqual(plan(live, model(ext + ing('s', 's.test', 'web', 'HTTPS')), DEFAULT_PEM), { reload: 'backend be_default_web_80_https: ExternalName Service added or changed' });
  });

  test('a backend whose protocol changed under the same name is a reload (defence: names carry the protocol)', () => {
    const m = model(web(['10.0.0.1']) + ing('s', 's.test', 'web'));
    const changed: RoutingModel = { ...m, backends: m.backends.map((b) => ({ ...b, policy: { protocol: 'https' } })) };
    assert.deepEqual(plan(reloadedWith(m), changed, DEFAULT_PEM), { reload: 'backend be_default_web_80: protocol, affinity, TLS, retry, balance or FastCGI policy changed' });
  });
});
