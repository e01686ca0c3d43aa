// render on models built by hand: what it writes for the parts no golden case reaches, and its own last check.
//
// The last check: whatever model it is handed, no string that could end a line, start a comment, split a
// word or name another file reaches HAProxy's configuration, map files or crt-list. translate never builds such a
// model (the golden cases show that); these models are built by hand, as a future bug in translate would build them,
// and render must refuse them (fail closed: the caller keeps the last good configuration).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CERT, catchAllEntries, certificatePath, groupEntries, render, renderCertificates, renderConfig, renderMaps, routeValue, serverArgs, sniName } from '../../src/haproxy/render/render.js';
import type { RenderOptions } from '../../src/haproxy/render/render.js';
import type { RoutingModel } from '../../src/model/types.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import type { RuntimeState } from '../../src/haproxy/runtime/plan.js';
import { BACKEND, OPTIONS, backend, certificate, exact, group, model, prefix, server, target } from './render-model.js';

/** Every way a string could break out of a word in HAProxy's files or its runtime API, and a few that only look odd. */
const HOSTILE_WORDS = ['a b', 'a\nb', 'a\r', 'a\tb', 'ok\n', '\nok', ' ok', 'ok ', 'a#b', '#a', 'a\0b', 'a\x7fb', 'caf\u00e9', 'a\u2028b'];
/** Characters a token (a section, server or certificate name) must not hold either. */
const HOSTILE_TOKENS = [...HOSTILE_WORDS, '', 'a"b', "a'b", 'a;b', 'a/b', 'a%[src]', 'a{b}', 'a\\b', 'a,b', 'a|b', 'x'.repeat(301)];
const HOSTILE_DIRS = ['relative/dir', '', '/a b', '/a\nb', '/a#b', '/a"b', "/a'b", '/a;b', '/a,b', '/a%b', '/a\\b', '/caf\u00e9', '/a\0'];
const NOT_IPS = ['example.com', '10.0.0.1 ', ' 10.0.0.1', '10.0.0.1\n', '10.0.0.1:80', '10.0.0.256', '10.0.0', '', '[::1]', '::1 ', '10.0.0.1#x', '10.0.0.1 backup'];
const BAD_PORTS = [0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 80.000001];

function renderAll(m: RoutingModel, o: RenderOptions = OPTIONS): string {
  const { config, files } = render(m, o, 'GENERATED\n');
  return [config, ...[...files].map(([path, text]) => `### ${path}\n${text}`)].join('\n');
}

describe('render refuses what translate never hands it', () => {
  test('the hand-built model itself renders: every check below fails only because of the one bad value', () => {
    const text = renderAll(model({ backends: [backend({ servers: [server(), server({ name: 'ep_v6', address: 'fd00::1', port: 65535 }), server({ name: 'ep_low', port: 1 })] })] }));
    assert.match(text, /^ {2}server ep_10_0_0_1_8080 10\.0\.0\.1:8080$/m);
    assert.match(text, /^ {2}server ep_v6 \[fd00::1\]:65535$/m, 'an IPv6 server is written in brackets');
    assert.match(text, /^ {2}server ep_low 10\.0\.0\.1:1$/m);
    assert.match(text, /^a\.example\/api\/ --\|be_default_web_80$/m);
    assert.match(text, /^\/var\/run\/portico\/gen\/1\/certs\/default_tls\.pem a\.example$/m);
    // The longest words and names that are still allowed.
    const longName = `be_${'x'.repeat(297)}`;
    const longKey = `${'h'.repeat(4096 - '/?'.length)}`;
    assert.doesNotThrow(() => renderAll(model({ backends: [backend({ name: longName })], hostGroups: [group({ key: longKey, exact: [exact('/', longName)], prefix: [] })] })));
    assert.doesNotThrow(() => renderAll(model(), { ...OPTIONS, bindAddress: '::1', httpsRedirectPort: 65535 }));
  });

  test('backend names: a section header and every map value', () => {
    for (const name of HOSTILE_TOKENS) {
      const what = JSON.stringify(name);
      assert.throws(() => renderConfig(model({ backends: [backend({ name })] }), OPTIONS), /refusing backend name/, `section ${what}`);
      assert.throws(() => routeValue(target(name)), /refusing backend name/, `route value ${what}`);
      assert.throws(() => groupEntries(group({ exact: [exact('/x', name)], prefix: [], defaultBackend: undefined })), /refusing backend name/, `exact route ${what}`);
      assert.throws(() => groupEntries(group({ exact: [], prefix: [prefix('/x', name)], defaultBackend: undefined })), /refusing backend name/, `prefix route ${what}`);
      assert.throws(() => groupEntries(group({ defaultBackend: target(name) })), /refusing backend name/, `default backend ${what}`);
      assert.throws(() => catchAllEntries(target(name)), /refusing backend name/, `catch-all ${what}`);
      assert.throws(() => renderMaps(model({ catchAll: target(name) })), /refusing backend name/, `maps ${what}`);
      // A spare section stands in for the backend at runtime: its name is checked the same way.
      assert.throws(() => routeValue(target(), () => name), /refusing backend name/, `bound section ${what}`);
    }
  });

  test('servers: name, address and port', () => {
    for (const name of HOSTILE_TOKENS) {
      assert.throws(() => serverArgs(server({ name })), /refusing server name/, JSON.stringify(name));
      assert.throws(() => renderConfig(model({ backends: [backend({ servers: [server({ name })] })] }), OPTIONS), /refusing server name/);
    }
    for (const address of NOT_IPS) {
      assert.throws(() => serverArgs(server({ address })), /refusing server address/, JSON.stringify(address));
      assert.throws(() => renderConfig(model({ backends: [backend({ servers: [server({ address })] })] }), OPTIONS), /refusing server address/);
    }
    for (const port of BAD_PORTS) {
      assert.throws(() => serverArgs(server({ port })), /refusing port/, String(port));
      assert.throws(() => renderConfig(model({ backends: [backend({ servers: [server({ port })] })] }), OPTIONS), /refusing port/);
    }
    assert.equal(serverArgs(server({ address: '::ffff:10.0.0.1', port: 443 })), 'ep_10_0_0_1_8080 [::ffff:10.0.0.1]:443');
  });

  test('ExternalName targets: host name and port', () => {
    const ext = (host: string, port = 5432): RoutingModel => model({ backends: [backend({ servers: [], externalName: { host, port } })] });
    assert.match(renderConfig(ext('db.example.com'), OPTIONS), /^ {2}server external db\.example\.com:5432 resolvers portico_dns resolve-prefer ipv4 init-addr last,libc,none$/m);
    for (const host of [...HOSTILE_WORDS, '', 'evil.example.com\n  server x 127.0.0.1:22', 'DB.example.com', '-db.example.com', 'db.example.com-', 'db_1.example.com', 'db.example.com.', 'a"b'])
      assert.throws(() => renderConfig(ext(host), OPTIONS), /refusing externalName/, JSON.stringify(host));
    for (const port of BAD_PORTS) assert.throws(() => renderConfig(ext('db.example.com', port), OPTIONS), /refusing port/, String(port));
  });

  test('map keys: host group keys and paths', () => {
    for (const word of HOSTILE_WORDS) {
      const what = JSON.stringify(word);
      assert.throws(() => groupEntries(group({ key: word })), /refusing map key/, `group key ${what}`);
      assert.throws(() => sniName(word), /refusing SNI name/, `SNI name ${what}`);
      assert.throws(() => groupEntries(group({ key: `*.${word}` })), /refusing map key/, `wildcard key ${what}`);
      assert.throws(() => renderMaps(model({ hostGroups: [group({ key: word })] })), /refusing map key/, `maps ${what}`);
      // Paths always start with '/': only the part after it is the hostile word.
      assert.throws(() => groupEntries(group({ exact: [exact(`/${word}`)] })), /refusing map key/, `exact path ${what}`);
      assert.throws(() => groupEntries(group({ exact: [], prefix: [prefix(`/x${word}`)] })), /refusing map key/, `prefix path ${what}`);
    }
    assert.throws(() => groupEntries(group({ key: '' })), /refusing map key/, 'an empty group key');
    const tooLong = 'h'.repeat(4096 - '/?'.length + 1);
    assert.throws(() => groupEntries(group({ key: tooLong, exact: [exact('/')], prefix: [] })), /refusing map key/, 'a key longer than 4,096 characters');
  });

  test('SNI names and certificate ids in the crt-list and the certificate files', () => {
    for (const host of [...HOSTILE_WORDS, '']) {
      assert.throws(() => sniName(host), /refusing SNI name/, JSON.stringify(host));
      assert.throws(() => renderCertificates(model({ sni: [{ host, certificate: 'default_tls' }] }), OPTIONS.filesDir, 'GENERATED\n'), /refusing SNI name/);
    }
    for (const id of HOSTILE_TOKENS) {
      const what = JSON.stringify(id);
      assert.throws(() => certificatePath(OPTIONS.filesDir, id), /refusing certificate id/, `path ${what}`);
      assert.throws(() => renderCertificates(model({ certificates: [certificate(id)], sni: [] }), OPTIONS.filesDir, 'GENERATED\n'), /refusing certificate id/, `file ${what}`);
      assert.throws(() => renderCertificates(model({ sni: [{ host: 'a.example', certificate: id }] }), OPTIONS.filesDir, 'GENERATED\n'), /refusing certificate id/, `crt-list ${what}`);
    }
  });

  test('directories: where the maps, certificates and sockets live', () => {
    for (const dir of HOSTILE_DIRS) {
      const what = JSON.stringify(dir);
      assert.throws(() => renderConfig(model(), { ...OPTIONS, filesDir: dir }), /directory .* must be an absolute path of safe characters/, `filesDir ${what}`);
      assert.throws(() => renderConfig(model(), { ...OPTIONS, stateDir: dir }), /directory .* must be an absolute path of safe characters/, `stateDir ${what}`);
      assert.throws(() => renderCertificates(model(), dir, 'GENERATED\n'), /directory .* must be an absolute path of safe characters/, `certificates ${what}`);
      assert.throws(() => certificatePath(dir, 'default_tls'), /directory .* must be an absolute path of safe characters/, `certificate path ${what}`);
    }
  });

  test('listener options: bind address, redirect port, Server header', () => {
    for (const bindAddress of NOT_IPS.filter((a) => a !== '')) assert.throws(() => renderConfig(model(), { ...OPTIONS, bindAddress }), /refusing server address/, JSON.stringify(bindAddress));
    assert.match(renderConfig(model(), { ...OPTIONS, bindAddress: '::1' }), /^ {2}bind \[::1\]:8080$/m);
    for (const httpsRedirectPort of BAD_PORTS) assert.throws(() => renderConfig(model(), { ...OPTIONS, httpsRedirectPort }), /refusing port/, String(httpsRedirectPort));
    for (const serverHeader of HOSTILE_TOKENS) assert.throws(() => renderConfig(model(), { ...OPTIONS, serverHeader }), /refusing server header/, JSON.stringify(serverHeader));
  });

  test('the runtime path refuses the same model: plan builds its operations with the same checks', () => {
    const live = model();
    const state: RuntimeState = {
      layout: { filesDir: OPTIONS.filesDir, named: new Map([[BACKEND, '']]), features: new Set() },
      model: live,
      bound: new Map(),
      free: ['spare_0'],
      defaultCertPem: 'GENERATED\n',
    };
    assert.doesNotThrow(() => plan(state, model({ hostGroups: [group(), group({ key: 'b.example' })] }), 'GENERATED\n'));
    for (const word of ['a b', 'a\nb', 'a#b']) {
      assert.throws(() => plan(state, model({ hostGroups: [group(), group({ key: `b${word}` })] }), 'GENERATED\n'), /refusing map key/, JSON.stringify(word));
      assert.throws(() => plan(state, model({ sni: [...live.sni, { host: `b${word}`, certificate: 'default_tls' }] }), 'GENERATED\n'), /refusing SNI name/, JSON.stringify(word));
      assert.throws(() => plan(state, model({ catchAll: target(`be_${word}`) }), 'GENERATED\n'), /refusing backend name/, JSON.stringify(word));
    }
  });
});

describe('render writes what the model says', () => {
  test('--default-ssl-certificate: default.pem holds that certificate, whichever place it has in the list', () => {
    const a = { ...certificate('default_a'), pem: 'A\n' };
    const b = { ...certificate('default_b'), pem: 'B\n' };
    const files = renderCertificates(model({ certificates: [a, b], sni: [], defaultCertificate: 'default_b' }), OPTIONS.filesDir, 'GENERATED\n');
    assert.equal(files.get(DEFAULT_CERT), 'B\n');
    // A default certificate the model does not hold (its Secret is invalid) leaves the generated one in place.
    const missing = renderCertificates(model({ certificates: [a], sni: [], defaultCertificate: 'default_gone' }), OPTIONS.filesDir, 'GENERATED\n');
    assert.equal(missing.get(DEFAULT_CERT), 'GENERATED\n');
  });

  test('the HTTPS redirect names the port when --https-redirect-port is not 443', () => {
    assert.match(renderConfig(model(), { ...OPTIONS, httpsRedirectPort: 8443 }), /redirect location https:\/\/%\[[^\]]+\]:8443%\[capture\.req\.uri,regsub\(\/\$,\)\] code 308 /);
    assert.match(renderConfig(model(), OPTIONS), /redirect location https:\/\/%\[[^\]]+\]%\[capture\.req\.uri,regsub\(\/\$,\)\] code 308 /);
  });

  test('an ExternalName of one character is a host name like any other', () => {
    assert.match(renderConfig(model({ backends: [backend({ servers: [], externalName: { host: 'x', port: 80 } })] }), OPTIONS), /^ {2}server external x:80 resolvers portico_dns resolve-prefer ipv4 init-addr last,libc,none$/m);
  });
});
