// auth-type: basic with auth-secret, auth-secret-type and auth-realm through real HAProxy, with hashes made by the
// real `htpasswd` in every scheme it writes (apr1, bcrypt, SHA-1, DES crypt, SHA-256/512-crypt with and without
// rounds=; its plain text refused as nginx on Linux refuses it) and nginx's own {SSHA} and {PLAIN}: 401 with nginx's
// challenge without or with wrong credentials, 200 with each scheme, the auth-map form, the Authorization header kept from the
// backend (nginx sends it an empty one), a password changed and a user added live without a reload, a missing
// Secret failing closed with 503, and other Ingresses untouched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

/** One htpasswd line, made by the real tool: `-m` apr1, `-B` bcrypt, `-s` SHA-1, `-d` DES, `-2`/`-5` SHA-crypt. */
function htpasswd(flag: string, user: string, password: string, ...more: string[]): string {
  return execFileSync('htpasswd', ['-nb', flag, ...more, user, password], { encoding: 'utf8' }).trim();
}
/** OpenLDAP's salted SHA-1, which htpasswd does not write and nginx checks: base64(SHA-1(password salt) salt). */
const sshaLine = (user: string, password: string, salt: Buffer): string =>
  `${user}:{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
const LONG = 'x'.repeat(600);
const hashOf = (line: string): string => line.slice(line.indexOf(':') + 1);

const lines = {
  apr: htpasswd('-m', 'ann', 'apr-secret'),
  bcrypt: htpasswd('-B', 'bob', 'bcrypt secret'),
  sha: htpasswd('-s', 'sam', 'sha:secret'),
  des: htpasswd('-d', 'dee', 'dessecr'),
  sha256: htpasswd('-2', 'two', 'sha two'),
  sha512: htpasswd('-5', 'five', 'sha five'),
  sha512rounds: htpasswd('-5', 'fiver', 'rounds five', '-r', '12345'),
  sha256rounds: htpasswd('-2', 'twor', 'rounds two', '-r', '1000'),
  ssha: sshaLine('salty', 'salted pw', Buffer.from([0, 1, 2, 0xff, 0x20])),
  plain: 'pat:{PLAIN}plain #text: yes',
  rawPlain: htpasswd('-p', 'raw', 'rawtext'),
  des8: htpasswd('-d', 'dan', 'eightchr'),
  longPlain: `pal:{PLAIN}${LONG}`,
  tooManyRounds: htpasswd('-5', 'rob', 'rob', '-r', '300000'),
};
const ALL = Object.values(lines);

const secret = (name: string, data: Record<string, string>): string =>
  stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type: 'Opaque', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });

const route = (name: string, host: string, annotations: Record<string, string> = {}, tls = false): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'auth', port: 80 }] }], ...(tls ? { tls: [{ hosts: [host], secretName: '' }] } : {}) });

function objects(fileUsers: string[], mapUsers: Record<string, string>): string {
  return docs(
    secret('htpasswd', { auth: `# made by htpasswd\n${fileUsers.join('\n')}\n` }),
    secret('usermap', mapUsers),
    route('file', 'auth.test', { 'auth-type': 'basic', 'auth-secret': 'htpasswd', 'auth-realm': 'Staff only' }),
    route('map', 'map.auth.test', { 'auth-type': 'basic', 'auth-secret': 'default/usermap', 'auth-secret-type': 'auth-map' }),
    route('missing', 'missing.auth.test', { 'auth-type': 'basic', 'auth-secret': 'nothere' }),
    route('bogus', 'bogus.auth.test', { 'auth-type': 'bearer', 'auth-secret': 'htpasswd' }),
    // htpasswd lines are no htdigest lines: every user is refused, and the route asks for digest credentials.
    route('digest', 'digest.auth.test', { 'auth-type': 'digest', 'auth-secret': 'htpasswd' }),
    route('open', 'open.auth.test'),
    route('tls', 'tls.auth.test', { 'auth-type': 'basic', 'auth-secret': 'htpasswd' }, true),
  );
}

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

async function get(host: string, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof httpGet>>> {
  return httpGet(portico.httpPort, { host, path: '/x', headers });
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'auth', '127.0.225.1'));
  await writeManifest(dir, 'routes.yaml', objects(ALL, { mia: hashOf(htpasswd('-m', 'mia', 'map-pass')) }));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('basic authentication', () => {
  test('without credentials: 401 with the realm in the challenge, as nginx writes it', async () => {
    const r = await get('auth.test');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="Staff only"');
    assert.equal(r.body, '401 Unauthorized: this route needs a user name and password\n');
  });

  test('with a wrong password, an unknown user or another scheme: 401', async () => {
    for (const headers of [basic('ann', 'wrong'), basic('nobody', 'apr-secret'), basic('ann', ''), { authorization: 'Bearer abc' }, { authorization: 'Basic !!!' }]) {
      const r = await get('auth.test', headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers['www-authenticate'], 'Basic realm="Staff only"');
    }
  });

  test('each scheme htpasswd writes that Portico checks: apr1, bcrypt, SHA-1; the backend never sees the credentials', async () => {
    for (const [user, password] of [['ann', 'apr-secret'], ['bob', 'bcrypt secret'], ['sam', 'sha:secret']] as const) {
      const r = await get('auth.test', basic(user, password));
      assert.equal(r.status, 200, user);
      const seen = JSON.parse(r.body) as { headers: Record<string, unknown> };
      assert.equal(seen.headers.authorization, undefined, 'nginx sends the backend an empty Authorization');
      // Cached the second time: the same answer.
      assert.equal((await get('auth.test', basic(user, password))).status, 200, `${user}, again`);
    }
  });

  test('DES crypt, SHA-256/512-crypt (rounds= too), {SSHA} and {PLAIN}: each its right password only', async () => {
    const users: [string, string][] = [['dee', 'dessecr'], ['two', 'sha two'], ['five', 'sha five'], ['fiver', 'rounds five'], ['twor', 'rounds two'], ['salty', 'salted pw'], ['pat', 'plain #text: yes'], ['pal', LONG]];
    for (const [user, password] of users) {
      assert.equal((await get('auth.test', basic(user, password))).status, 200, user);
      assert.equal((await get('auth.test', basic(user, `${password}!`))).status, 401, `${user}, wrong password`);
      assert.equal((await get('auth.test', basic(user, password.slice(0, -1)))).status, 401, `${user}, shortened password`);
    }
    // DES reads 8 characters, as crypt() does: the ninth is not checked, in nginx either.
    assert.equal((await get('auth.test', basic('dee', 'dessecrXYZ'))).status, 401, 'dessecr is 7 characters: the 8th counts');
    assert.equal((await get('auth.test', basic('pat', '{PLAIN}plain #text: yes'))).status, 401);
  });

  test('what nginx on Linux never matches: htpasswd -p plain text, a 600-byte password through crypt(), rounds above the bound', async () => {
    assert.equal((await get('auth.test', basic('raw', 'rawtext'))).status, 401, 'plain text goes to crypt() in nginx and matches nothing');
    // DES reads the first 8 bytes, so a longer password matches, until it reaches 512 bytes, which libxcrypt refuses.
    assert.equal((await get('auth.test', basic('dan', `eightchr${'x'.repeat(500)}`))).status, 200, '508 bytes');
    assert.equal((await get('auth.test', basic('dan', `eightchr${LONG}`))).status, 401, 'libxcrypt refuses passphrases of 512 bytes or more');
    assert.equal((await get('auth.test', basic('rob', 'rob'))).status, 401, 'rounds=300000 is refused in translate');
  });

  test('auth-map: each key a user; no realm given is an empty one', async () => {
    const r = await get('map.auth.test', basic('mia', 'map-pass'));
    assert.equal(r.status, 200);
    const denied = await get('map.auth.test', basic('mia', 'nope'));
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Basic realm=""');
  });

  test('on a TLS host, plain HTTP is redirected before credentials are asked for; HTTPS asks', async () => {
    const plain = await httpGet(portico.httpPort, { host: 'tls.auth.test', path: '/' });
    assert.equal(plain.status, 308);
    const r = await httpsGet(portico.httpsPort, { host: 'tls.auth.test', servername: 'tls.auth.test', path: '/' });
    assert.equal(r.status, 401);
    const ok = await httpsGet(portico.httpsPort, { host: 'tls.auth.test', servername: 'tls.auth.test', path: '/', headers: basic('bob', 'bcrypt secret') });
    assert.equal(ok.status, 200);
  });

  test('a missing Secret and an unknown auth-type fail closed with 503; digest over an htpasswd Secret is 401; other Ingresses are served', async () => {
    const digest = await get('digest.auth.test', basic('ann', 'apr-secret'));
    assert.equal(digest.status, 401);
    assert.match(String(digest.headers['www-authenticate']), /^Digest algorithm="MD5", qop="auth", realm="", nonce="/);
    for (const host of ['missing.auth.test', 'bogus.auth.test']) {
      const r = await get(host, basic('ann', 'apr-secret'));
      assert.equal(r.status, 503, host);
      assert.equal(r.headers['www-authenticate'], undefined);
    }
    const open = await get('open.auth.test', basic('ann', 'apr-secret'));
    assert.equal(open.status, 200);
    assert.match(String((JSON.parse(open.body) as { headers: Record<string, unknown> }).headers.authorization), /^Basic /, 'a route without authentication passes the header on');
  });

  test('a changed password and a new user in the Secret are live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', objects([htpasswd('-m', 'ann', 'new-secret'), lines.bcrypt, htpasswd('-B', 'zoe', 'zoe pass')], { mia: hashOf(htpasswd('-s', 'mia', 'map-pass-2')), max: hashOf(htpasswd('-m', 'max', 'max')) }));
    await waitFor(async () => (await get('auth.test', basic('ann', 'new-secret'))).status === 200, { timeoutMs: 5000, message: 'the changed password never applied' });
    assert.equal((await get('auth.test', basic('ann', 'apr-secret'))).status, 401, 'the old password, though it was cached');
    assert.equal((await get('auth.test', basic('zoe', 'zoe pass'))).status, 200, 'the new user');
    assert.equal((await get('auth.test', basic('sam', 'sha:secret'))).status, 401, 'the removed user');
    assert.equal((await get('map.auth.test', basic('max', 'max'))).status, 200);
    assert.equal((await get('map.auth.test', basic('mia', 'map-pass-2'))).status, 200);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
