// Basic authentication's translate and render sides: the grammars with hostile values, htpasswd parsing (hashes made
// by the real htpasswd), the map lines render writes and refuses, the incremental translator's Secret index, and
// plan: a changed Secret is map operations, the first route with authentication a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { SHA_CRYPT_MAX_ROUNDS, authTypeGrammar, hashProblem, parseHtdigest, parseHtpasswd, realmGrammar, secretDigestUsers, secretNameGrammar, secretUsers, storedHash } from '../../src/translate/annotations/auth-basic.js';
import { authData, authLua, challengeValue, digestChallengeValue, ha1Value, hashValue, userKey } from '../../src/haproxy/render/policy/auth-basic.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { Translator, translate } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Obj } from '../../src/k8s/objects.js';
import { routeId } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const htpasswd = (flag: string, user: string, password: string): string => execFileSync('htpasswd', ['-nb', flag, user, password], { encoding: 'utf8' }).trim();
const hashOf = (line: string): string => line.slice(line.indexOf(':') + 1);
const N = 'nginx.ingress.kubernetes.io/';

describe('basic authentication grammars', () => {
  test('auth-type: basic or digest, the word itself', () => {
    assert.deepEqual(authTypeGrammar.parse(' basic '), { ok: true, value: 'basic' });
    assert.deepEqual(authTypeGrammar.parse('digest'), { ok: true, value: 'digest' });
    for (const bad of ['Basic', 'Digest', 'basicx', 'xdigest', 'basic\n  lua-load /x', '']) assert.equal(authTypeGrammar.parse(bad).ok, false, JSON.stringify(bad));
  });

  test('auth-secret: name or namespace/name, each a Kubernetes name', () => {
    assert.deepEqual(secretNameGrammar.parse('users'), { ok: true, value: { name: 'users' } });
    assert.deepEqual(secretNameGrammar.parse('team/users.v2'), { ok: true, value: { namespace: 'team', name: 'users.v2' } });
    for (const bad of ['a/b/c', '../x', 'A', '/x', 'x/', 'a b', 'a\nb', 'ns.x/a']) assert.equal(secretNameGrammar.parse(bad).ok, false, bad);
  });

  test("auth-realm: ingress-nginx's characters; no quote, backslash, control character or format sequence", () => {
    assert.deepEqual(realmGrammar.parse('Staff only: a-b_c.d~/'), { ok: true, value: 'Staff only: a-b_c.d~/' });
    for (const bad of ['a"b', 'x\\', 'a\r\nSet-Cookie: x', 'r%[src]', '\u00fc', 'a\tb', 'x'.repeat(257)]) assert.equal(realmGrammar.parse(bad).ok, false, JSON.stringify(bad));
  });

  test('invalid auth annotations fail closed; auth-secret without auth-type is reported and does nothing', () => {
    const cases: Record<string, string>[] = [{ [`${N}auth-type`]: 'bearer', [`${N}auth-secret`]: 's' }, { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'a/b/c' }, { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 's', [`${N}auth-secret-type`]: 'auth-maps' }];
    for (const annotations of cases) {
      const f = new Findings('Ingress default/x');
      const v = parseIngressAnnotations(annotations, f);
      assert.ok(v.authType === 'invalid' || v.authSecret === 'invalid' || v.authSecretType === 'invalid', JSON.stringify(annotations));
      assert.ok(f.list.some((d) => d.rule === 'A1'));
    }
    const f = new Findings('Ingress default/x');
    parseIngressAnnotations({ [`${N}auth-secret`]: 's' }, f);
    assert.deepEqual(f.list.map((d) => d.rule), ['auth-ignored']);
  });
});

describe('htpasswd content', () => {
  test('every scheme htpasswd writes is accepted except its plain text (nginx hands that to crypt()); malformed and costly hashes are reported', () => {
    for (const flag of ['-m', '-B', '-s', '-d', '-2', '-5']) assert.equal(hashProblem(hashOf(htpasswd(flag, 'u', 'p'))), undefined, flag);
    for (const flag of ['-2', '-5']) assert.equal(hashProblem(hashOf(execFileSync('htpasswd', ['-nb', flag, '-r', String(SHA_CRYPT_MAX_ROUNDS), 'u', 'p'], { encoding: 'utf8' }).trim())), undefined);
    assert.match(hashProblem(hashOf(execFileSync('htpasswd', ['-nb', '-5', '-r', String(SHA_CRYPT_MAX_ROUNDS + 1), 'u', 'p'], { encoding: 'utf8' }).trim())) ?? '', /rounds=200001 is above 200000/);
    assert.match(hashProblem(hashOf(htpasswd('-p', 'u', 'plaintext'))) ?? '', /without \{PLAIN\} matches nothing/);
    assert.match(hashProblem(hashOf(htpasswd('-B', 'u', 'p').replace('$05$', '$10$'))) ?? '', /cost 10/);
    for (const ok of ['{PLAIN}', '{PLAIN}a b#c', `{SSHA}${Buffer.alloc(20, 7).toString('base64')}`, `{SSHA}${Buffer.alloc(25, 7).toString('base64')}`]) assert.equal(hashProblem(ok), undefined, ok);
    const bad = [
      'secret', '$apr1$salt$short', '$2y$05$tooshort', '$apr1$a$bbbbbbbbbbbbbbbbbbbbbb\n', 'abcdefghijk1', 'abcdefghijk1$',
      '$5$rounds=999$salt$' + 'a'.repeat(43), '$5$rounds=01000$salt$' + 'a'.repeat(43), '$5$salt$' + 'a'.repeat(86), '$6$salt$' + 'a'.repeat(43),
      '$5$saltsaltsaltsalts$' + 'a'.repeat(43), '$5$sa%t$' + 'a'.repeat(43), '$y$j9T$salt$hash', `{SSHA}${Buffer.alloc(19, 7).toString('base64')}`, '{SSHA}not base64!',
    ];
    for (const b of bad) assert.notEqual(hashProblem(b), undefined, b);
  });

  test('{PLAIN} reaches render as the SHA-256 of the password, never the password', () => {
    const r = parseHtpasswd('pat:{PLAIN}p w#1\n');
    assert.deepEqual(r.users, [['pat', `{PLAIN-SHA256}${createHash('sha256').update('p w#1').digest('hex').toUpperCase()}`]]);
    assert.equal(storedHash('$apr1$x$y'), '$apr1$x$y');
    assert.equal(hashValue(r.users[0]![1]), r.users[0]![1], 'render takes it');
  });

  test('lines: comments and empty lines skipped, CRLF read, the first line of a user wins; problems never quote the hash', () => {
    const ann = htpasswd('-m', 'ann', 'x');
    const text = `# comment\r\n${ann}\r\n\nno-colon\n${htpasswd('-m', 'ann', 'y')}\n:${hashOf(ann)}\nbad\u0007user:${hashOf(ann)}\ndee:${hashOf(htpasswd('-d', 'dee', 'p'))}x\n`;
    const r = parseHtpasswd(text);
    assert.deepEqual(r.users, [['ann', hashOf(ann)]]);
    assert.deepEqual(
      r.problems.map((p) => p.reason.slice(0, 7)),
      ['line 4:', 'line 5:', 'line 6:', 'line 7:', 'line 8:'],
    );
    for (const p of r.problems) assert.ok(!p.reason.includes('$apr1$') && !p.reason.includes('$'), p.reason);
  });

  test('auth-map: each key a user (a trailing line break of the value dropped); auth-file without the auth key is missing', () => {
    const secret: Obj = { kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { mia: Buffer.from(`${hashOf(htpasswd('-m', 'mia', 'p'))}\n`).toString('base64'), bob: Buffer.from('plain').toString('base64') } };
    const m = secretUsers(secret, 'auth-map');
    assert.ok(!('missing' in m));
    assert.deepEqual(m.users.map(([u]) => u), ['mia']);
    assert.deepEqual(m.problems.map((p) => p.field), ['data[bob]']);
    assert.ok('missing' in secretUsers(secret, 'auth-file'));
  });
});

describe('digest users (auth-type: digest)', () => {
  const htdigest = (realm: string, user: string, password: string): string =>
    `${user}:${realm}:${createHash('md5').update(`${user}:${realm}:${password}`).digest('hex')}`;

  test("htdigest lines of auth-realm's realm; other realms, bad hashes, repeats and bad names reported, never quoting the hash", () => {
    const ann = htdigest('R', 'ann', 'x');
    const text = `# c\r\n${ann}\r\n${htdigest('Other', 'eve', 'x')}\nbob:R:${'A'.repeat(32)}\n${htdigest('R', 'ann', 'y')}\nno-colon\n:R:${'a'.repeat(32)}\nsam:R\n`;
    const r = parseHtdigest(text, 'R');
    assert.deepEqual(r.users, [['ann', ann.slice(-32)]]);
    assert.deepEqual(r.problems.map((p) => p.reason.replace(/:.*/, '')), ['line 3', 'line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
    assert.match(r.problems[0]!.reason, /realm "Other" is not auth-realm "R"/);
    for (const p of r.problems) assert.ok(!p.reason.includes('a'.repeat(32)) && !p.reason.includes(ann.slice(-32)), p.reason);
  });

  test('auth-map: each key a user, its value realm:HA1; a realm may hold ":"', () => {
    const value = htdigest('a:b', 'mia', 'p').slice('mia:'.length);
    const secret: Obj = { kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { mia: Buffer.from(`${value}\n`).toString('base64') } };
    const m = secretDigestUsers(secret, 'auth-map', 'a:b');
    assert.ok(!('missing' in m));
    assert.deepEqual(m.users, [['mia', value.slice(-32)]]);
  });

  test('render: HA1 in its own map, the challenge before its nonce; hostile values throw', () => {
    const ha1 = 'f'.repeat(32);
    assert.deepEqual(authData({ scheme: 'digest', realm: 'Staff only', secret: 'default/s', users: [['bob', ha1]] }), [['authDigestUsers', ha1, '|626F62'], ['authDigestChallenges', 'Digest%20realm=%22Staff%20only%22']]);
    for (const bad of ['F'.repeat(32), 'f'.repeat(31), `${ha1}\n  lua-load /x`]) assert.throws(() => ha1Value(bad), /refusing a digest HA1/);
    assert.throws(() => digestChallengeValue('a"b'), /refusing auth realm/);
  });

  test('the first digest route needs its rules (a reload); a changed HA1 is a map update', () => {
    const manifests = (auth: string, type = 'digest'): string => `${svc('web', ['10.0.0.1'])}
apiVersion: v1
kind: Secret
metadata: {name: users}
data: {auth: ${Buffer.from(auth).toString('base64')}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a, annotations: {${N}auth-type: ${type}, ${N}auth-secret: users, ${N}auth-realm: R}}
spec: {rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
`;
    const basic = reloadedWith(model(manifests(htpasswd('-m', 'ann', 'x'), 'basic')));
    const toDigest = plan(basic, model(manifests(htdigest('R', 'ann', 'x'))), DEFAULT_PEM);
    assert.ok('reload' in toDigest);
    const digest = reloadedWith(model(manifests(htdigest('R', 'ann', 'x'))));
    const id = routeId('a.test/');
    assert.deepEqual(opSummary(ops(digest, model(manifests(htdigest('R', 'ann', 'y')))).ops), [`map-set maps/auth-digest-users.map ${id}|616E6E ${htdigest('R', 'ann', 'y').slice(-32)}`]);
  });
});

describe('render: the maps and the script', () => {
  test('users are keyed by the hex of their UTF-8 bytes, as http_auth_user,hex gives them; the challenge is percent-encoded', () => {
    assert.equal(userKey('ann'), '|616E6E');
    assert.equal(userKey('a b#ü'), '|61206223C3BC');
    assert.equal(challengeValue('Staff only'), 'Basic%20realm=%22Staff%20only%22');
    assert.equal(challengeValue(''), 'Basic%20realm=%22%22');
    const hash = hashOf(htpasswd('-B', 'bob', 'p'));
    assert.deepEqual(authData({ realm: 'R', secret: 'default/s', users: [['bob', hash]] }), [['authUsers', hash, '|626F62'], ['authChallenges', 'Basic%20realm=%22R%22']]);
  });

  test('render refuses what translate should have refused: hostile realms, users and hashes throw', () => {
    for (const realm of ['a"b', 'a\\', 'a\nb', 'a%b']) assert.throws(() => challengeValue(realm), /refusing auth realm/);
    for (const user of ['', 'a:b', 'a\nb', 'x'.repeat(256)]) assert.throws(() => userKey(user), /refusing auth user/);
    for (const hash of ['plain', '{PLAIN}pw', '$5$rounds=1000000$s$' + 'a'.repeat(43), '$apr1$a$b c', `${hashOf(htpasswd('-m', 'u', 'p'))}\n  lua-load /x`, '{SHA}x y']) assert.throws(() => hashValue(hash), /refusing an auth hash/);
  });

  test("Blowfish's constants are pi's hexadecimal digits (checked at both ends of the table)", () => {
    const lua = authLua();
    assert.match(lua, /local PI = \{ 0x243f6a88,0x85a308d3,/);
    assert.match(lua, /0x3ac372e6 \}/);
  });
});

describe('the Secret index and live changes', () => {
  const opts: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: false };
  const ing = (name: string, host: string, annotations: Record<string, string>): Obj => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', annotations },
    spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  });
  const secret = (auth: string): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'users', namespace: 'default' }, data: { auth: Buffer.from(auth).toString('base64') } });

  test('a changed Secret rebuilds the groups that read it, only them, and the result is what a full translate gives', () => {
    const t = new Translator(opts);
    const snap = emptySnapshot();
    snap.ingresses = [ing('a', 'a.test', { [`${N}auth-type`]: 'basic', [`${N}auth-secret`]: 'users' }), ing('b', 'b.test', {})];
    snap.secrets = [secret(htpasswd('-m', 'ann', 'x'))];
    const first = t.update(snap);
    assert.equal(first.model.hostGroups[0]!.prefix[0]!.policy.basicAuth?.users[0]?.[0], 'ann');
    const next = { ...snap, secrets: [secret(htpasswd('-m', 'zoe', 'y'))] };
    const second = t.update(next);
    assert.equal(second.model.hostGroups[0]!.prefix[0]!.policy.basicAuth?.users[0]?.[0], 'zoe');
    assert.equal(second.model.hostGroups[1], first.model.hostGroups[1], 'b.test reads no Secret: untouched');
    assert.deepEqual(second, translate(next, opts));
    const gone = t.update({ ...snap, secrets: [] });
    assert.equal(gone.model.hostGroups[0]!.prefix[0]!.policy.refuseAll, true, 'a deleted Secret fails closed');
    assert.deepEqual(gone, translate({ ...snap, secrets: [] }, opts));
  });

  const web = svc('web', ['10.0.0.1']);
  const manifests = (auth: string): string => `${web}
apiVersion: v1
kind: Secret
metadata: {name: users}
data: {auth: ${Buffer.from(auth).toString('base64')}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a, annotations: {${N}auth-type: basic, ${N}auth-secret: users}}
spec: {rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
`;

  test('a password changed and a user added are map operations; users arrive before the challenge and leave after it', () => {
    const id = routeId('a.test/');
    const ann1 = htpasswd('-m', 'ann', 'x');
    const ann2 = htpasswd('-m', 'ann', 'y');
    const zoe = htpasswd('-B', 'zoe', 'z');
    const state = reloadedWith(model(manifests(ann1)));
    assert.deepEqual(opSummary(ops(state, model(manifests(`${ann2}\n${zoe}`))).ops), [`map-set maps/auth-users.map ${id}|616E6E ${hashOf(ann2)}`, `map-add maps/auth-users.map ${id}|7A6F65 ${hashOf(zoe)}`]);
    const off = model(manifests(ann1).replace(/annotations: \{[^}]*\}/, 'annotations: {}'));
    assert.deepEqual(opSummary(ops(state, off).ops), ['map-set maps/paths.map a.test/ --|be_default_web_80', `map-del maps/auth-challenges.map ${id}`, `map-del maps/auth-users.map ${id}|616E6E`]);
  });

  test('the first route with authentication needs the rules: a reload', () => {
    const plain = model(manifests(htpasswd('-m', 'ann', 'x')).replace(/annotations: \{[^}]*\}/, 'annotations: {}'));
    const p = plan(reloadedWith(plain), model(manifests(htpasswd('-m', 'ann', 'x'))), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /no rule for auth/);
  });
});
