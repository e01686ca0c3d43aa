// The edge render pass (edge.ts, body-limit.ts, and the frontends render.ts builds from them) on hand-picked
// settings: the exact rule lines each setting writes and in which section, and the values render refuses. The golden
// cases render serve's defaults only; these tests turn each setting off, to its smallest value, and past its grammar.
//
// Refusals are checked by the field they name: render fails closed (the caller keeps the last good configuration),
// and the message is all an operator who called it with a bad value gets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPS_FRONTEND, HTTP_FRONTEND, render, renderConfig } from '../../src/haproxy/render/render.js';
import type { RenderOptions } from '../../src/haproxy/render/render.js';
import { PER_CLIENT_TABLE, perClientTable } from '../../src/haproxy/render/edge.js';
import type { HstsSettings } from '../../src/haproxy/render/edge.js';
import { BODY_LIMIT_LUA, bodyGateSections } from '../../src/haproxy/render/body-limit.js';
import { BACKEND, OPTIONS, backend, edgeSettings, group, hasSection, model, prefix, sectionLines, target, withEdge } from './render-model.js';

const HTTP = `frontend ${HTTP_FRONTEND}`;
const HTTPS = `frontend ${HTTPS_FRONTEND}`;
const FRONTENDS = [HTTP, HTTPS];
const TABLE = `backend ${PER_CLIENT_TABLE}`;
const GATE_BACKEND = 'backend portico_body_gate';
const GATE_FRONTEND = 'frontend portico_body_gate_in';
const PEM = 'GENERATED\n';

const config = (o: RenderOptions): string => renderConfig(model(), o);
const lines = (o: RenderOptions, header: string): string[] => sectionLines(config(o), header);

// Conditions as render writes them.
const ODD_PATH = '{ var(txn.odd_path) -m bool }';
const ODD_HEADERS = '{ var(txn.odd_headers) -m bool }';
const ANNOUNCED = `${ODD_HEADERS} { req.hdr_val(content-length) gt 0 }`;
const H2_UNKNOWN_LENGTH = '{ var(sess.h2) -m bool } !{ req.hdr_cnt(content-length) gt 0 }';
const GATE = `http-request set-var(txn.route) var(txn.route),regsub(\\|,|portico_body_gate|) if ${ODD_HEADERS} { req.hdr_cnt(transfer-encoding) gt 0 }`;
const H2_SESSION = 'tcp-request session set-var(sess.h2) bool(true) if { ssl_fc_alpn h2 }';
const bodyLine = (l: string): boolean => /wait-for-body|deny_status 413|portico_body_gate/.test(l);
const CLIENT_TEXT = 'tcp-request session set-var(sess.client) src,lower';

/** A frontend's binds: the lines before its first option. */
const binds = (l: string[]): string[] => l.slice(0, l.indexOf('option disable-h2-upgrade'));
/** A frontend's connection-level rules, up to and including the one every frontend has (the access log's lines, which
 * sit among them, are access-log.test.ts's). */
const connectionLevel = (l: string[]): string[] => l.slice(l.indexOf('option disable-h2-upgrade') + 1, l.indexOf(CLIENT_TEXT) + 1).filter((x) => x.startsWith('tcp-request '));
/** The global lines after the TLS settings, but for the access log's targets. */
const afterTls = (g: string[]): string[] => g.slice(g.findIndex((l) => l.startsWith('ssl-default-bind-options ')) + 1).filter((x) => !x.startsWith('log '));

/** Values no integer check may let through, whatever its minimum. */
const NOT_WHOLE = [Number.NaN, -1, 1.5, 0.000001, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53];

function refuses(o: RenderOptions, what: string, value: unknown): void {
  const msg = new RegExp(`^Error: render: refusing ${what} `);
  assert.throws(() => config(o), msg, `${what} ${String(value)}`);
  assert.throws(() => render(model(), o, PEM), msg, `${what} ${String(value)} (render)`);
}

describe('edge rules: what each setting writes, and where', () => {
  test('allowEncodedSlashes: an encoded / is refused with 400 unless allowed; the other ambiguous forms always are', () => {
    const deny = (encodedSlash: string): string =>
      `http-request deny deny_status 400 if ${ODD_PATH} { path -m reg -i '${encodedSlash}%5c|%00|\\\\|/(\\.|%2e){1,2}(;|%3b)' } or ${ODD_HEADERS} { req.hdrs -m reg '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]' } or ${ODD_HEADERS} !{ req.hdr(host) -m found } !{ req.ver 1.0 }`;
    for (const [allow, expected] of [[false, deny('%2f|')], [true, deny('')]] as const) {
      for (const f of FRONTENDS) {
        const l = lines(withEdge({ allowEncodedSlashes: allow }), f);
        assert.deepEqual(l.filter((x) => x.startsWith('http-request deny deny_status 400 ')), [expected], `${f}, allowEncodedSlashes ${allow}`);
      }
    }
  });

  test('per-client limits: tracked and refused at accept on both listeners, each limit on its own; none without a limit', () => {
    const track = `tcp-request connection track-sc0 src table ${PER_CLIENT_TABLE} unless { src 127.0.0.1 ::1 }`;
    const cur = (n: number): string => `tcp-request connection reject if { sc0_conn_cur gt ${n} }`;
    const rate = (n: number): string => `tcp-request connection reject if { sc0_conn_rate gt ${n} }`;
    const cases: [connections: number, ratePerSecond: number, rules: string[]][] = [
      [0, 0, []],
      [7, 0, [track, cur(7)]],
      [0, 3, [track, rate(30)]],
      [1, 1, [track, cur(1), rate(10)]],
      [1024, 200, [track, cur(1024), rate(2000)]],
    ];
    for (const [connections, ratePerSecond, rules] of cases) {
      const text = config(withEdge({ perClient: { connections, ratePerSecond } }));
      const what = `connections ${connections}, rate ${ratePerSecond}`;
      // First of all rules (a refused client costs nothing more), on both listeners.
      assert.deepEqual(connectionLevel(sectionLines(text, HTTP)), [...rules, CLIENT_TEXT], `HTTP: ${what}`);
      assert.deepEqual(connectionLevel(sectionLines(text, HTTPS)), [...rules, H2_SESSION, CLIENT_TEXT], `HTTPS: ${what}`);
      assert.equal(hasSection(text, TABLE), rules.length > 0, `the table section: ${what}`);
      if (rules.length > 0) assert.deepEqual(sectionLines(text, TABLE), ['stick-table type ipv6 size 16384 expire 10s store conn_cur,conn_rate(10s)'], what);
    }
  });

  test('per-client table: four entries per connection slot, at least 1,000', () => {
    for (const [maxConnections, size] of [[1, 1000], [250, 1000], [251, 1004], [4096, 16384]] as const) {
      assert.deepEqual(lines({ ...OPTIONS, maxConnections }, TABLE), [`stick-table type ipv6 size ${size} expire 10s store conn_cur,conn_rate(10s)`], `maxconn ${maxConnections}`);
    }
  });

  test('HSTS: on the HTTPS listener only, for routes of TLS hosts; nowhere when off', () => {
    const hsts = (value: string): string => `http-after-response set-header Strict-Transport-Security "${value}" if { var(txn.route) -m sub s| }`;
    const cases: [HstsSettings, string][] = [
      [{ enabled: true, maxAge: 31536000, includeSubdomains: true, preload: false }, 'max-age=31536000; includeSubDomains'],
      [{ enabled: true, maxAge: 0, includeSubdomains: false, preload: false }, 'max-age=0'],
      [{ enabled: true, maxAge: 1, includeSubdomains: false, preload: true }, 'max-age=1; preload'],
      [{ enabled: true, maxAge: 9999999999, includeSubdomains: true, preload: true }, 'max-age=9999999999; includeSubDomains; preload'],
    ];
    for (const [parts, value] of cases) {
      const text = config(withEdge({ hsts: parts }));
      assert.deepEqual(sectionLines(text, HTTPS).filter((l) => l.includes('Strict-Transport-Security')), [hsts(value)], value);
      assert.deepEqual(sectionLines(text, HTTP).filter((l) => l.includes('Strict-Transport-Security')), [], `not on HTTP: ${value}`);
    }
    const none = config(withEdge({ hsts: { enabled: false, maxAge: 31536000, includeSubdomains: true, preload: false } }));
    assert.ok(!none.includes('Strict-Transport-Security'), 'no HSTS when off');
  });

  test('Connection: close above the idle-close threshold, judged on each listener', () => {
    for (const closeIdleAbove of [1, 3686]) {
      for (const f of FRONTENDS) {
        const l = lines(withEdge({ closeIdleAbove }), f);
        assert.deepEqual(l.filter((x) => x.includes('Connection close')), [`http-after-response set-header Connection close if { fe_conn gt ${closeIdleAbove} }`], `${f}: ${closeIdleAbove}`);
      }
    }
  });

  test('TLS versions and cipher list: written to the global section as given', () => {
    for (const [minVersion, maxVersion] of [['TLSv1.2', 'TLSv1.3'], ['TLSv1.3', 'TLSv1.3'], ['TLSv1.2', 'TLSv1.2']] as const) {
      const g = lines(withEdge({ tls: { minVersion, maxVersion } }), 'global');
      assert.deepEqual(g.filter((l) => l.startsWith('ssl-default-bind-options ')), [`ssl-default-bind-options ssl-min-ver ${minVersion} ssl-max-ver ${maxVersion} no-tls-tickets`]);
    }
    for (const ciphers of ['HIGH:!aNULL:!MD5', 'ECDHE+AESGCM:@SECLEVEL=2', 'TLS_AES_128_GCM_SHA256:-RC4', 'A'.repeat(2000)]) {
      const g = lines(withEdge({ tls: { ciphers } }), 'global');
      assert.deepEqual(g.filter((l) => l.startsWith('ssl-default-bind-ciphers ')), [`ssl-default-bind-ciphers ${ciphers}`], ciphers.slice(0, 40));
    }
  });

  test('body limit 0: no Lua filter, no gate, no HTTP/2 test; announced bodies are still buffered before a backend is picked', () => {
    for (const bodyTimeoutSeconds of [1, 60]) {
      const o = withEdge({ maxBodyBytes: 0, bodyTimeoutSeconds });
      const { config: text, files } = render(model(), o, PEM);
      assert.deepEqual(afterTls(sectionLines(text, 'global')), [], 'no lua-load');
      assert.ok(!files.has(BODY_LIMIT_LUA), 'no Lua file');
      for (const f of FRONTENDS) {
        const l = sectionLines(text, f);
        assert.deepEqual(l.filter(bodyLine), [`http-request wait-for-body time ${bodyTimeoutSeconds}s if ${ANNOUNCED}`], f);
        assert.deepEqual(l.filter((x) => x.includes('sess.h2')), [], `${f}: no HTTP/2 test`);
        assert.deepEqual(connectionLevel(l).filter((x) => !x.startsWith('tcp-request connection ')), [CLIENT_TEXT], `${f}: no HTTP/2 session rule`);
      }
      assert.ok(!hasSection(text, GATE_BACKEND) && !hasSection(text, GATE_FRONTEND), 'no gate sections');
      assert.ok(!text.includes('portico_body'), 'nothing names the gate or the filter');
    }
  });

  test('body limit: 413 above it, the gate for bodies of unknown length; HTTP/2 tests on the HTTPS listener only', () => {
    for (const [maxBodyBytes, bodyTimeoutSeconds] of [[1, 1], [1000, 7]] as const) {
      const o = withEdge({ maxBodyBytes, bodyTimeoutSeconds });
      const { config: text, files } = render(model(), o, PEM);
      const what = `limit ${maxBodyBytes}, timeout ${bodyTimeoutSeconds}`;
      assert.deepEqual(afterTls(sectionLines(text, 'global')), [`lua-load ${OPTIONS.filesDir}/${BODY_LIMIT_LUA}`], what);
      assert.match(files.get(BODY_LIMIT_LUA) ?? '', /^core\.register_filter\('portico_body_limit', BodyLimit, /m, what);
      const deny = `http-request deny deny_status 413 if ${ODD_HEADERS} { req.hdr_val(content-length) gt ${maxBodyBytes} }`;
      const wait = `http-request wait-for-body time ${bodyTimeoutSeconds}s if ${ANNOUNCED}`;
      const http = sectionLines(text, HTTP);
      assert.deepEqual(http.filter(bodyLine), [deny, wait, GATE], `HTTP: ${what}`);
      assert.deepEqual(http.filter((l) => l.includes('sess.h2')), [], `HTTP: no HTTP/2 test (${what})`);
      assert.deepEqual(connectionLevel(http).filter((l) => !l.startsWith('tcp-request connection ')), [CLIENT_TEXT], `HTTP: no HTTP/2 session rule (${what})`);
      const https = sectionLines(text, HTTPS);
      assert.deepEqual(
        https.filter(bodyLine),
        [deny, `${wait} or ${H2_UNKNOWN_LENGTH} { method GET HEAD }`, `${GATE} or !{ method GET HEAD } ${H2_UNKNOWN_LENGTH} or ${H2_UNKNOWN_LENGTH} { req.body_len gt 0 }`],
        `HTTPS: ${what}`,
      );
      assert.deepEqual(connectionLevel(https).filter((l) => !l.startsWith('tcp-request connection ')), [H2_SESSION, CLIENT_TEXT], `HTTPS: ${what}`);
      const gate = sectionLines(text, GATE_BACKEND);
      assert.ok(gate.includes(`filter lua.portico_body_limit ${maxBodyBytes}`), what);
      assert.ok(gate.includes(`timeout server ${2 * OPTIONS.timeouts.server}s`), what);
      assert.ok(sectionLines(text, GATE_FRONTEND).includes('use_backend %[var(txn.route),field(3,|)]'), what);
    }
  });

  test('threads: nbthread only when set', () => {
    assert.deepEqual(lines({ ...OPTIONS, threads: 0 }, 'global').slice(0, 2), ['master-worker', 'expose-experimental-directives']);
    assert.deepEqual(lines({ ...OPTIONS, threads: 1 }, 'global').slice(0, 2), ['master-worker', 'nbthread 1']);
    assert.deepEqual(lines({ ...OPTIONS, threads: 64 }, 'global').slice(0, 2), ['master-worker', 'nbthread 64']);
  });

  test('binds: every IPv4 address, and every IPv6 address on a socket of its own when enabled', () => {
    const tls = ` ssl crt ${OPTIONS.filesDir}/certs/default.pem crt-list ${OPTIONS.filesDir}/certs/crt-list.txt alpn h2,http/1.1`;
    assert.deepEqual(binds(lines({ ...OPTIONS, ipv6: false }, HTTP)), ['bind :8080']);
    assert.deepEqual(binds(lines({ ...OPTIONS, ipv6: false }, HTTPS)), [`bind :8443${tls}`]);
    assert.deepEqual(binds(lines({ ...OPTIONS, ipv6: true }, HTTP)), ['bind :8080', 'bind [::]:8080 v6only']);
    assert.deepEqual(binds(lines({ ...OPTIONS, ipv6: true }, HTTPS)), [`bind :8443${tls}`, `bind [::]:8443 v6only${tls}`]);
  });

  test('resolvers: a section only when there are DNS servers, and ExternalName servers use it only then', () => {
    const ext = model({ backends: [backend({ servers: [], externalName: { host: 'db.example.com', port: 5432 } })] });
    const none = renderConfig(ext, { ...OPTIONS, resolvers: [] });
    assert.ok(!hasSection(none, 'resolvers portico_dns'));
    assert.deepEqual(sectionLines(none, `backend ${BACKEND}`).filter((l) => l.startsWith('server ')), ['server external db.example.com:5432 init-addr last,libc,none']);
    const two = renderConfig(ext, { ...OPTIONS, resolvers: ['10.0.0.10:53', 'fd00::1:5353'] });
    assert.deepEqual(sectionLines(two, 'resolvers portico_dns').filter((l) => l.startsWith('nameserver ')), ['nameserver dns1 10.0.0.10:53', 'nameserver dns2 [fd00::1]:5353']);
    assert.deepEqual(sectionLines(two, `backend ${BACKEND}`).filter((l) => l.startsWith('server ')), ['server external db.example.com:5432 resolvers portico_dns resolve-prefer ipv4 init-addr last,libc,none']);
  });

  test('resolvers: each an IP address and a port, nothing before or after', () => {
    const bad = ['', 'junk', '10.0.0.10', '10.0.0.10:', ':53', '10.0.0.10:53x', '10.0.0.10:53 ', '10.0.0.10:53\n', '10.0.0.10:53\nx', 'x\n10.0.0.10:53', ' 10.0.0.10:53', '10.0.0.10 :53', '10.0.0.10:0', '10.0.0.10:65536', 'dns.example:53', '[fd00::1]:53', '10.0.0.10:53 # x'];
    for (const r of bad) {
      for (const resolvers of [[r], ['10.0.0.10:53', r]]) assert.throws(() => config({ ...OPTIONS, resolvers }), /^Error: render: refusing (server address|port|DNS server) /, JSON.stringify(resolvers));
    assert.throws(() => config({ ...OPTIONS, resolvers: ['junk'] }), /^Error: render: refusing DNS server "junk": not address:port$/);
    }
  });

  test('sections after the frontends: none left empty when there is no table, no resolver and no gate', () => {
    const bare = config(withEdge({ perClient: { connections: 0, ratePerSecond: 0 }, maxBodyBytes: 0 }, { resolvers: [] }));
    assert.ok(bare.includes(`use_backend %[var(txn.route),field(2,|)]\n\nbackend ${BACKEND}\n`), 'the first backend right after the HTTPS frontend, one blank line between');
    const full = config(OPTIONS);
    const order = full.split('\n').filter((l) => /^(backend|resolvers|frontend) /.test(l));
    assert.deepEqual(order, [HTTP, HTTPS, TABLE, 'resolvers portico_dns', GATE_FRONTEND, GATE_BACKEND, `backend ${BACKEND}`, 'backend spare_0']);
    assert.ok(!/\n\n\n/.test(full.slice(full.indexOf(HTTPS))), 'one blank line between sections');
  });
});

describe('render refuses edge settings and options outside their grammars, naming the field', () => {
  test('the smallest values allowed render', () => {
    const o = withEdge(
      { perClient: { connections: 0, ratePerSecond: 0 }, maxBodyBytes: 0, bodyTimeoutSeconds: 1, closeIdleAbove: 1 },
      { maxConnections: 1, hardStopAfterSeconds: 1, timeouts: { connect: 1, client: 1, server: 1, tunnel: 1, httpRequest: 1, keepAlive: 1 } },
    );
    const g = lines(o, 'global');
    assert.ok(g.includes('maxconn 1') && g.includes('hard-stop-after 1s'));
    const d = lines(o, 'defaults portico').filter((l) => l.startsWith('timeout '));
    assert.deepEqual(d, ['timeout connect 1s', 'timeout client 1s', 'timeout server 1s', 'timeout tunnel 1s', 'timeout http-request 1s', 'timeout http-keep-alive 1s', 'timeout queue 1s']);
    assert.doesNotThrow(() => render(model(), withEdge({ maxBodyBytes: 1, perClient: { connections: 1, ratePerSecond: 1 } }, { maxConnections: 1 }), PEM));
  });

  test('timeouts, maxconn and hard-stop-after: whole numbers from 1', () => {
    const ok = OPTIONS.timeouts;
    for (const v of [0, ...NOT_WHOLE]) {
      for (const k of Object.keys(ok) as (keyof RenderOptions['timeouts'])[]) refuses({ ...OPTIONS, timeouts: { ...ok, [k]: v } }, `timeout ${k}`, v);
      refuses({ ...OPTIONS, maxConnections: v }, 'maxconn', v);
      refuses({ ...OPTIONS, hardStopAfterSeconds: v }, 'hard-stop-after', v);
    }
  });

  test('threads: a whole number up to 64 (HAProxy 2.6 rejects more); spare backends: a whole number', () => {
    for (const v of NOT_WHOLE) refuses({ ...OPTIONS, threads: v }, 'threads', v);
    refuses({ ...OPTIONS, threads: 65 }, 'threads', 65);
    for (const v of NOT_WHOLE) refuses({ ...OPTIONS, spareBackends: v }, 'spare backends', v);
    assert.equal(config({ ...OPTIONS, spareBackends: 0 }).includes('backend spare_0'), false);
    assert.equal(config({ ...OPTIONS, spareBackends: 2 }).split('\n').filter((l) => l.startsWith('backend spare_')).length, 2);
  });

  test('listener ports: 1 to 65535', () => {
    for (const v of [0, 65536, ...NOT_WHOLE]) {
      refuses({ ...OPTIONS, httpPort: v }, 'port', v);
      refuses({ ...OPTIONS, httpsPort: v }, 'port', v);
    }
    assert.deepEqual(binds(lines({ ...OPTIONS, httpPort: 1, httpsPort: 65535, ipv6: false }, HTTP)), ['bind :1']);
    assert.ok(lines({ ...OPTIONS, httpPort: 1, httpsPort: 65535 }, HTTPS).includes('http-request set-header X-Forwarded-Port 65535'));
  });

  test('per-client connections and rate: whole numbers from 0, each checked whatever the other is', () => {
    for (const v of NOT_WHOLE) {
      for (const other of [0, 5]) {
        refuses(withEdge({ perClient: { connections: v, ratePerSecond: other } }), 'per-client connections', v);
        // A bad rate with the connection limit set (or not) is refused all the same.
        refuses(withEdge({ perClient: { connections: other, ratePerSecond: v } }), 'per-client rate', v);
      }
    }
  });

  test('body size: a whole number from 0; body timeout: from 1, with or without a limit', () => {
    for (const v of NOT_WHOLE) {
      refuses(withEdge({ maxBodyBytes: v }), 'body size', v);
      for (const maxBodyBytes of [0, 1000]) refuses(withEdge({ maxBodyBytes, bodyTimeoutSeconds: v }), 'body timeout', v);
    }
    for (const maxBodyBytes of [0, 1000]) refuses(withEdge({ maxBodyBytes, bodyTimeoutSeconds: 0 }), 'body timeout', 0);
  });

  test('idle-close threshold: a whole number from 1', () => {
    for (const v of [0, ...NOT_WHOLE]) refuses(withEdge({ closeIdleAbove: v }), 'idle-close threshold', v);
  });

  test('TLS versions: TLSv1.2 or TLSv1.3, each of the two checked', () => {
    const bad = ['TLSv1.1', 'TLSv1.0', 'SSLv3', 'TLSv1.4', '', 'tlsv1.2', 'TLSv1x2', 'TLSv1.23', 'xTLSv1.2', 'TLSv1.2 ', ' TLSv1.3', 'TLSv1.2\n', '\nTLSv1.3', 'TLSv1.2 ssl-min-ver TLSv1.0', 'TLSv1.3\nbind :1'];
    for (const v of bad) {
      refuses(withEdge({ tls: { minVersion: v } }), 'TLS versions', JSON.stringify(v));
      refuses(withEdge({ tls: { maxVersion: v } }), 'TLS versions', JSON.stringify(v));
    }
  });

  test('cipher list: cipher names and OpenSSL list operators only, 1 to 2,000 characters', () => {
    const bad = ['', 'HIGH !aNULL', 'HIGH\n', '\nHIGH', 'HIGH\nbind :1', ' HIGH', 'HIGH ', 'HIGH#x', '"HIGH"', "'HIGH'", 'HIGH,LOW', 'HIGH;LOW', 'A'.repeat(2001)];
    for (const ciphers of bad) refuses(withEdge({ tls: { ciphers } }), 'cipher list', JSON.stringify(ciphers).slice(0, 40));
  });

  test('HSTS: a max-age that is not a whole number of at most ten digits is refused', () => {
    for (const maxAge of [-1, 1.5, NaN, Infinity, 12345678901]) refuses(withEdge({ hsts: { enabled: true, maxAge, includeSubdomains: true, preload: false } }), 'HSTS', String(maxAge));
  });

  test('the per-client table and the body gate check what they write themselves', () => {
    // Within renderConfig, maxconn and the server timeout are checked before these run; each still refuses on its own.
    for (const v of [0, ...NOT_WHOLE]) {
      assert.throws(() => perClientTable(edgeSettings(), v), /^Error: render: refusing maxconn /, String(v));
      assert.throws(() => bodyGateSections(edgeSettings(), OPTIONS.stateDir, v, []), /^Error: render: refusing server timeout /, String(v));
    }
    for (const v of NOT_WHOLE) assert.throws(() => bodyGateSections(edgeSettings({ maxBodyBytes: v }), OPTIONS.stateDir, 60, []), /^Error: render: refusing body size /, String(v));
  });
});

describe('route policies with every edge setting', () => {
  test('no line exceeds the 64 words HAProxy reads, with or without a global body limit', () => {
    const policy = { redirectToHttps: true, redirect: { code: 301 as const, url: 'https://x.example/' }, serverTimeoutSeconds: 30, maxBodyBytes: 2048 };
    const m = model({ hostGroups: [group({ prefix: [{ ...prefix('/api'), policy }], defaultBackend: { ...target(), policy } })], catchAll: { ...target(), policy } });
    for (const maxBodyBytes of [0, 1000]) {
      for (const allowEncodedSlashes of [false, true]) {
        const text = renderConfig(m, withEdge({ maxBodyBytes, allowEncodedSlashes, perClient: { connections: 10, ratePerSecond: 5 } }));
        for (const line of text.split('\n')) assert.ok(line.trim().split(/\s+/).length <= 64, `${line.slice(0, 120)}... (body limit ${maxBodyBytes})`);
        // A route limit with no global one still takes the gate and the Lua filter.
        assert.ok(hasSection(text, GATE_BACKEND), `the gate, body limit ${maxBodyBytes}`);
      }
    }
  });
});
