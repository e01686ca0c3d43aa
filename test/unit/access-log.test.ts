// The access log's pure parts: HAProxy's wire line -> record (hostile bytes stay data), the pipeline's line framing,
// filters and subscribers, Portico's output lines (whole, bounded), and the bounded writer's drops.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openSync, closeSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, BoundedLineWriter, formatRecord, parseHaproxyLine } from '../../src/accesslog/index.js';
import type { AccessLogOptions, RequestRecord } from '../../src/accesslog/index.js';
import { LINE_MAX } from '../../src/accesslog/output.js';
import { HAPROXY_LINE_MAX, haproxyLogFormat, WIRE_KEYS } from '../../src/accesslog/wire.js';
import type { AccessLogSettings } from '../../src/model/types.js';
import { render } from '../../src/haproxy/render/render.js';
import { testRenderOptions } from '../render-options.js';
import type { RoutingModel } from '../../src/model/types.js';

const emptyModel = (): RoutingModel => ({ hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [] });

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

let serial = 0;
/** A line as HAProxy writes it (wire.ts), with fields overridden. */
function wire(over: Record<string, unknown> = {}): string {
  const o: Record<string, unknown> = {
    k: `1234.${++serial}`,
    t: 1796610542074,
    ci: '10.1.2.3',
    m: b64('GET'),
    u: b64('/a/b?x=1'),
    v: b64('HTTP/1.1'),
    h: b64('app.test'),
    ua: b64('curl/8'),
    id: b64('abc'),
    st: 200,
    bi: 90,
    bo: 400,
    tc: 1,
    tr: 3,
    td: 1,
    ta: 5,
    r: '--|be_default_web_80|p.0123456789abcdef',
    s: 'ep_10_0_0_5_8080',
    tls: '-',
    sni: '-',
    ts: '----',
    ...over,
  };
  return JSON.stringify(o);
}

describe('parseHaproxyLine', () => {
  test('reads every field; the fields Portico fills from its model are empty', () => {
    const r = parseHaproxyLine(wire({ k: '4321.7' }));
    assert.deepEqual(r, {
      key: '4321.7',
      time: '2026-12-07T02:29:02.074Z',
      client: '10.1.2.3',
      scheme: 'http',
      method: 'GET',
      host: 'app.test',
      path: '/a/b',
      query: 'x=1',
      protocol: 'HTTP/1.1',
      status: 200,
      bytesIn: 90,
      bytesOut: 400,
      connectMs: 1,
      responseMs: 3,
      dataMs: 1,
      totalMs: 5,
      route: '--|be_default_web_80|p.0123456789abcdef',
      routeId: 'p.0123456789abcdef',
      section: 'be_default_web_80',
      server: 'ep_10_0_0_5_8080',
      endpoint: '',
      service: '',
      namespace: '',
      ingress: '',
      rule: '',
      tlsVersion: '',
      sni: '',
      requestId: 'abc',
      userAgent: 'curl/8',
      termination: '----',
      quiet: false,
    });
  });

  test('the time is the ISO 8601 text of the milliseconds HAProxy wrote, whatever the order of lines', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 45 }), { minLength: 1, maxLength: 20 }), (times) => {
        for (const t of times) assert.equal(parseHaproxyLine(wire({ t }))!.time, new Date(t).toISOString());
      }),
    );
  });

  test('repeated values decode the same as new ones, and a flood of distinct ones stays correct', () => {
    for (let i = 0; i < 10_000; i++) {
      const ua = `agent/${i % 5000}`;
      const r = parseHaproxyLine(wire({ ua: b64(ua), h: b64(`h${i % 3}.test`) }))!;
      assert.equal(r.userAgent, ua);
      assert.equal(r.host, `h${i % 3}.test`);
    }
  });

  test('hostile bytes are data: quotes, backslashes, newlines, NUL, invalid UTF-8', () => {
    const ua = Buffer.concat([Buffer.from('a"b\\c\n{"status":1}\u0000'), Buffer.from([0xff, 0xfe])]);
    const r = parseHaproxyLine(wire({ ua: b64(ua), h: b64('x"}\n'), u: b64('/"?"') }))!;
    assert.equal(r.userAgent, 'a"b\\c\n{"status":1}\u0000\ufffd\ufffd');
    assert.equal(r.host, 'x"}\n');
    assert.equal(r.path, '/"');
    assert.equal(r.query, '"');
    const line = formatRecord({ ...r, endpoint: '', service: '', namespace: '', ingress: '', rule: '' }, 'json');
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
    const back = JSON.parse(line) as Record<string, unknown>;
    assert.equal(back.userAgent, r.userAgent);
    assert.equal(back.status, 200);
  });

  test('HAProxy\'s "-" for a missing value is an empty string; the section comes from the route value, past the body gate', () => {
    const r = parseHaproxyLine(wire({ h: '-', s: '<NOSRV>', r: '-', tc: -1, tr: -1 }))!;
    assert.equal(r.host, '');
    assert.equal(r.server, '');
    assert.equal(r.route, '');
    assert.equal(r.section, '');
    assert.equal(r.connectMs, -1);
    assert.equal(parseHaproxyLine(wire({ r: '--|portico_body_gate|be_default_web_80|p.0123456789abcdef' }))!.section, 'be_default_web_80');
    const tls = parseHaproxyLine(wire({ tls: 'TLSv1.3', sni: b64('app.test') }))!;
    assert.deepEqual([tls.scheme, tls.sni, tls.tlsVersion], ['https', 'app.test', 'TLSv1.3']);
  });

  test('the quiet flag of the route value', () => {
    assert.equal(parseHaproxyLine(wire({ r: '-q-|be_default_web_80' }))!.quiet, true);
    assert.equal(parseHaproxyLine(wire({ r: 'rqs|be_default_web_80' }))!.quiet, true);
    assert.equal(parseHaproxyLine(wire({ r: '--|be_q' }))!.quiet, false);
  });

  test('anything but the exact wire format is not a record', () => {
    for (const line of [
      'Proxy portico_http stopped (cumulated conns: FE: 3, BE: 0).',
      '',
      '{',
      '[]',
      'null',
      wire().slice(0, -10),
      wire({ extra: 1 }),
      JSON.stringify({ ...JSON.parse(wire()), t: undefined }),
      wire({ ua: 'not base64!' }),
      wire({ ua: 'YQ' }), // base64 without its padding
      wire({ st: '200' }),
      wire({ st: 1.5 }),
      wire({ s: 'a b' }),
      wire({ r: 'x\ny' }),
      wire({ ts: 7 }),
    ])
      assert.equal(parseHaproxyLine(line), undefined, line);
  });
});

describe('the wire format', () => {
  test('every field of the wire is checked for its kind: a value of another kind is no record', () => {
    const wrong = { number: '"1"', base64: '"not base64!"', token: '"a b"' } as const;
    for (const [key, kind] of WIRE_KEYS) {
      const line = wire().replace(new RegExp(`"${key}":("[^"]*"|-?\\d+)`), `"${key}":${wrong[kind]}`);
      assert.notEqual(line, wire(), key);
      assert.equal(parseHaproxyLine(line), undefined, `${key} (${kind})`);
    }
  });

  test('the log-format names every key the parser reads, once', () => {
    const format = JSON.parse(haproxyLogFormat()) as string;
    const keys = [...format.matchAll(/"([a-z]+)":/g)].map((m) => m[1]);
    assert.deepEqual(keys, [...WIRE_KEYS.keys()]);
  });

  test('the longest line HAProxy can write fits its len (the ring\'s maxlen): never truncated', () => {
    // The method and URI come from one 1,024-byte capture (tune.http.logurilen), headers from 256-byte captures.
    const longest = wire({ k: '4194304.18446744073709551615', m: b64('M'.repeat(24)), u: b64('/'.repeat(1000)), v: b64('HTTP/1.1'), h: b64('h'.repeat(256)), ua: b64('u'.repeat(256)), id: b64('i'.repeat(128)), sni: b64('s'.repeat(255)), ci: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', r: `rqs|portico_body_gate|${'b'.repeat(300)}|p.0123456789abcdef`, s: 's'.repeat(300), tls: 'TLSv1.3' });
    assert.ok(longest.length + 1 <= HAPROXY_LINE_MAX, `${longest.length}`);
  });

  test('render writes the log lines only while the access log is on', () => {
    const on = render(emptyModel(), testRenderOptions(), 'PEM').config;
    const off = render(emptyModel(), testRenderOptions({ accessLog: false }), 'PEM').config;
    // The ring alone: no line is written to a file descriptor (a system call per request).
    assert.match(on, /^ {2}log ring@portico_access len 4096 format raw daemon\n {2}stats timeout 24d$/m);
    assert.doesNotMatch(on, /log stdout/);
    assert.match(on, /^ring portico_access\n {2}format raw\n {2}maxlen 4096\n {2}size 8388608\n\n/m);
    const small = render(emptyModel(), testRenderOptions({ accessLogBufferBytes: 65_536 }), 'PEM').config;
    assert.match(small, /^ring portico_access\n {2}format raw\n {2}maxlen 4096\n {2}size 65536\n\n/m);
    assert.throws(() => render(emptyModel(), testRenderOptions({ accessLogBufferBytes: 4096 }), 'PEM'), /access log ring size/);
    assert.equal((on.match(/^ {2}log-format /gm) ?? []).length, 2, 'the two listener frontends');
    assert.doesNotMatch(on, /^defaults portico\n {2}mode http\n {2}log global/m, 'no internal hop logs');
    assert.doesNotMatch(off, /log stdout|log ring|^ring |log-format|capture request|http-request capture|stats timeout/m);
    assert.match(off, /^defaults portico\n {2}mode http\n {2}log global$/m);
  });
});

const record = (over: Partial<RequestRecord> = {}): RequestRecord => ({ ...parseHaproxyLine(wire())!, endpoint: '10.0.0.5:8080', service: 'default/web:80', namespace: '', ingress: '', rule: '', ...over });

describe('formatRecord', () => {
  test('a hostile record still makes one whole line of at most PIPE_BUF bytes', () => {
    const evil = '\u0001"\\'.repeat(1000);
    for (const format of ['json', 'text'] as const) {
      const line = formatRecord(record({ host: evil, path: evil, query: evil, userAgent: evil, sni: evil, requestId: evil }), format);
      assert.ok(Buffer.byteLength(line) <= LINE_MAX, `${format}: ${Buffer.byteLength(line)}`);
      assert.equal(line.indexOf('\n'), line.length - 1);
      if (format === 'json') assert.equal((JSON.parse(line) as { status: number }).status, 200);
    }
  });

  test('text: quoted request and user agent, control characters escaped', () => {
    const line = formatRecord(record({ userAgent: 'a"\nb' }), 'text');
    assert.equal(line, '2026-12-07T02:29:02.074Z 10.1.2.3 "GET http://app.test/a/b?x=1 HTTP/1.1" 200 400 5ms default/web:80 10.0.0.5:8080 - "abc" ---- "a\\"\\nb"\n');
  });
});

class Sink {
  lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

function pipeline(settings: AccessLogSettings = {}, mode: 'json' | 'text' | 'off' = 'json', more: Partial<AccessLogOptions> = {}): { log: AccessLog; sink: Sink; other: string[] } {
  const sink = new Sink();
  const other: string[] = [];
  const log = new AccessLog({ mode, sink, sectionOf: (section, server) => (section === 'be_default_web_80' ? { service: 'default/web:80', endpoint: server === 'ep_10_0_0_5_8080' ? '10.0.0.5:8080' : '' } : undefined), settings: () => settings, onOtherLine: (l) => other.push(l), ...more });
  return { log, sink, other };
}

describe('AccessLog', () => {
  test('lines split across chunks are joined, per connection; other lines go to HAProxy\'s log; subscribers get records', () => {
    const { log, sink, other: others } = pipeline();
    const seen: RequestRecord[] = [];
    const unsubscribe = log.subscribe((r) => seen.push(r));
    const text = `${wire()}\nProxy x stopped.\n${wire({ st: 404 })}\n`;
    const feed = log.reader();
    // A second connection's chunks between the first's never mix with them.
    const other = log.reader();
    for (let i = 0; i < text.length; i += 7) {
      feed(text.slice(i, i + 7));
      other(i === 0 ? wire({ st: 500 }).slice(0, 10) : '');
    }
    assert.deepEqual(others, ['Proxy x stopped.']);
    assert.deepEqual(seen.map((r) => [r.status, r.service, r.endpoint]), [[200, 'default/web:80', '10.0.0.5:8080'], [404, 'default/web:80', '10.0.0.5:8080']]);
    assert.equal(sink.lines.length, 2);
    unsubscribe();
    feed(`${wire()}\n`);
    assert.equal(seen.length, 2);
  });

  test('a runaway partial line is discarded up to its newline, then lines are read again', () => {
    const { log, sink } = pipeline();
    const feed = log.reader();
    feed('x'.repeat(70_000));
    feed('y'.repeat(10));
    feed(`tail\n${wire()}\n`);
    assert.equal(sink.lines.length, 1);
    assert.equal(log.counts.malformed, 1);
  });

  test('the second copy of a line (a ring read again from its start) is dropped, whichever comes first', () => {
    const { log, sink } = pipeline();
    const a = wire({ k: '99.1' });
    const b = wire({ k: '99.2' });
    log.reader()(`${a}\n${b}\n`);
    log.reader()(`${b}\n${a}\n${wire({ k: '100.1' })}\n`);
    assert.equal(sink.lines.length, 3);
    assert.equal(log.counts.records, 3);
  });

  test("HAProxy's notes of lines it dropped are counted as lost, not logged", () => {
    const lost: number[] = [];
    const { log, sink, other } = pipeline({}, 'json', { onLost: (n) => lost.push(n) });
    log.reader()(`${wire({ k: '7.1' })}\n2510 events dropped\n1 event dropped\n${wire({ k: '7.2' })}\n12 events dropped later\n`);
    assert.equal(sink.lines.length, 2);
    assert.equal(log.counts.lost, 2511);
    assert.deepEqual(lost, [2510, 1]);
    assert.deepEqual(other, ['12 events dropped later']);
  });

  test('a route resolver names the Ingress and rule', () => {
    const { log, sink } = pipeline();
    log.setRouteResolver((host, path, route) => (host === 'app.test' && path === '/a/b' && route.includes('be_default_web_80') ? { namespace: 'default', ingress: 'web', path: 'app.test/a', service: 'default/web:80' } : undefined));
    log.reader()(`${wire()}\n`);
    const line = JSON.parse(sink.lines[0]!) as Record<string, unknown>;
    assert.deepEqual([line.namespace, line.ingress, line.rule], ['default', 'web', 'app.test/a']);
  });

  test('quiet routes, the default backend, skipped URIs and disable-access-log are left out of the log, not of the records', () => {
    const cases: [AccessLogSettings, string, boolean][] = [
      [{}, wire({ r: '-q-|be_default_web_80' }), false],
      [{}, wire({ r: '-', st: 404 }), false],
      [{ defaultBackend: true }, wire({ r: '-', st: 404 }), true],
      [{ skipUrls: ['/a/b?x=1'] }, wire(), false],
      [{ skipUrls: ['/a/b'] }, wire(), true],
      [{ skipUrls: ['/a/b'] }, wire({ u: b64('/a/b') }), false],
      [{ disabled: true }, wire(), false],
      [{}, wire(), true],
    ];
    for (const [settings, line, logged] of cases) {
      const { log, sink } = pipeline(settings);
      let records = 0;
      log.subscribe(() => records++);
      log.reader()(`${line}\n`);
      assert.equal(records, 1);
      assert.equal(sink.lines.length, logged ? 1 : 0, `${JSON.stringify(settings)} ${line}`);
    }
    const { log, sink } = pipeline({}, 'off');
    let records = 0;
    log.subscribe(() => records++);
    log.reader()(`${wire()}\n`);
    assert.deepEqual([records, sink.lines.length], [1, 0]);
  });
});

describe('BoundedLineWriter', () => {
  test('writes whole lines in order, and drops (counting) what does not fit its queue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-accesslog-'));
    const fd = openSync(join(dir, 'out'), 'w');
    const w = new BoundedLineWriter(fd, 1000);
    for (let i = 0; i < 100; i++) w.write(`${String(i).padStart(98, '0')}\n`);
    await w.flushed();
    closeSync(fd);
    const lines = readFileSync(join(dir, 'out'), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length + w.dropped, 100);
    assert.ok(w.dropped > 0, 'a 1,000-byte queue cannot take 100 lines written at once');
    assert.equal(w.written, lines.length);
    assert.deepEqual(lines, [...lines].sort());
    assert.ok(lines.every((l) => l.length === 98));
  });

  test("Portico's own lines are never dropped and keep their place among the access lines; at exit the rest is written at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-accesslog-'));
    const fd = openSync(join(dir, 'out'), 'w');
    const w = new BoundedLineWriter(fd, 1000);
    const relieved: number[] = [];
    w.onRelief(0, () => relieved.push(w.backlog));
    for (let i = 0; i < 100; i++) {
      w.write(`access ${String(i).padStart(90, '0')}\n`);
      if (i % 10 === 0) w.writeOwn(`own ${i}\n`);
    }
    await w.flushed();
    assert.ok(relieved.length > 0 && relieved.every((b) => b === 0));
    for (let i = 0; i < 5; i++) w.writeOwn(`last ${i}\n`);
    w.flushSync();
    closeSync(fd);
    const lines = readFileSync(join(dir, 'out'), 'utf8').split('\n').filter(Boolean);
    const own = lines.filter((l) => l.startsWith('own '));
    assert.deepEqual(own, Array.from({ length: 10 }, (_, i) => `own ${i * 10}`), 'none of its own dropped, in order');
    assert.ok(w.dropped > 0);
    assert.equal(lines.filter((l) => l.startsWith('access ')).length, w.written);
    assert.deepEqual(lines.slice(-5), ['last 0', 'last 1', 'last 2', 'last 3', 'last 4']);
    // Every line keeps its place: access line n was queued before own line m exactly when n <= m.
    lines.forEach((l, i) => {
      if (!l.startsWith('access ')) return;
      const n = Number(l.slice('access '.length));
      for (const m of [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]) assert.equal(i < lines.indexOf(`own ${m}`), n <= m, `access ${n} against own ${m}`);
    });
  });
});
