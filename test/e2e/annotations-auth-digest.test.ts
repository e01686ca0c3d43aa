// auth-type: digest through real HAProxy, with users made by the real `htdigest` and curl's own digest client: the
// challenge nginx's auth_digest module sends (MD5, qop=auth, a fresh nonce), 200 with the right password and 401
// with a wrong one, the Authorization header kept from the backend, replays refused (the same nc twice, another
// path), forged nonces answered with stale=true only when the password was right, a line of another realm
// reported, a basic-auth route beside it untouched, and a changed password live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { docs, httpGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const execFileAsync = promisify(execFile);
const P = 'nginx.ingress.kubernetes.io/';
const REALM = 'Staff only';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

/** One htdigest line, made by the real tool (it reads the password twice from stdin). */
function htdigest(realm: string, user: string, password: string): string {
  const file = `${dir}/htdigest-${randomBytes(4).toString('hex')}`;
  execFileSync('htdigest', ['-c', file, realm, user], { input: `${password}\n${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
  return execFileSync('cat', [file], { encoding: 'utf8' }).trim();
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

const secret = (name: string, data: Record<string, string>): string =>
  stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type: 'Opaque', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });

const route = (name: string, host: string, annotations: Record<string, string> = {}): string =>
  ingress({ name, annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [P + k, v])), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'dg', port: 80 }] }] });

let lines: { ann: string; bob: string; otherRealm: string; basic: string };

function objects(users: string[]): string {
  return docs(
    secret('digest-users', { auth: `# made by htdigest\n${users.join('\n')}\n` }),
    secret('basic-users', { auth: `${lines.basic}\n` }),
    route('digest', 'digest.test', { 'auth-type': 'digest', 'auth-secret': 'digest-users', 'auth-realm': REALM }),
    route('basic', 'basic.test', { 'auth-type': 'basic', 'auth-secret': 'basic-users' }),
    route('bad-type', 'badtype.test', { 'auth-type': 'Digest', 'auth-secret': 'digest-users' }),
    route('open', 'open.test'),
  );
}

/** curl's digest client: it asks, reads the challenge, and asks again with the answer. Asynchronous: the echo pods
 * answer from this process. */
async function curlDigest(user: string, password: string, path = '/x?y=1'): Promise<{ status: number; body: string }> {
  const { stdout: out } = await execFileAsync('curl', ['-s', '--max-time', '10', '--digest', '-u', `${user}:${password}`, '-H', 'Host: digest.test', '-w', '\n%{http_code}', `http://127.0.0.1:${portico.httpPort}${path}`], { encoding: 'utf8' });
  const nl = out.lastIndexOf('\n');
  return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
}

const get = (host: string, path = '/', headers: Record<string, string> = {}) => httpGet(portico.httpPort, { host, path, headers });

/** The parameters of a challenge. */
function challenge(header: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of String(header).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** An Authorization header computed by hand (RFC 7616, MD5, qop=auth). */
function answer(o: { user: string; password: string; nonce: string; uri: string; nc: number; method?: string; realm?: string }): string {
  const realm = o.realm ?? REALM;
  const nc = o.nc.toString(16).padStart(8, '0');
  const cnonce = 'c0ffee';
  const ha1 = md5(`${o.user}:${realm}:${o.password}`);
  const response = md5(`${ha1}:${o.nonce}:${nc}:${cnonce}:auth:${md5(`${o.method ?? 'GET'}:${o.uri}`)}`);
  return `Digest username="${o.user}", realm="${realm}", nonce="${o.nonce}", uri="${o.uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
}

async function freshNonce(): Promise<string> {
  return challenge((await get('digest.test')).headers['www-authenticate']).nonce!;
}

before(async () => {
  dir = await manifestDir();
  lines = { ann: htdigest(REALM, 'ann', 'ann pass'), bob: htdigest(REALM, 'bob', 'bob:pass'), otherRealm: htdigest('Elsewhere', 'eve', 'eve pass'), basic: execFileSync('htpasswd', ['-nbm', 'sam', 'sam pass'], { encoding: 'utf8' }).trim() };
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'dg', '127.0.228.1'));
  await writeManifest(dir, 'routes.yaml', objects([lines.ann, lines.bob, lines.otherRealm]));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('digest authentication', () => {
  test("without credentials: 401 with nginx's auth_digest challenge and a new nonce each time", async () => {
    const r = await get('digest.test');
    assert.equal(r.status, 401);
    assert.match(String(r.headers['www-authenticate']), /^Digest algorithm="MD5", qop="auth", realm="Staff only", nonce="[0-9a-f]{48}"$/);
    assert.notEqual(await freshNonce(), challenge(r.headers['www-authenticate']).nonce);
  });

  test('curl --digest: 200 with each htdigest user; a wrong password, an unknown user, a user of another realm: 401', async () => {
    for (const [user, password] of [['ann', 'ann pass'], ['bob', 'bob:pass']] as const) {
      const r = await curlDigest(user, password);
      assert.equal(r.status, 200, user);
      const echo = JSON.parse(r.body) as EchoReply;
      assert.equal(echo.path, '/x?y=1');
      assert.equal(echo.headers.authorization, undefined, 'the backend never sees the credentials');
    }
    assert.equal((await curlDigest('ann', 'wrong')).status, 401);
    assert.equal((await curlDigest('nobody', 'ann pass')).status, 401);
    assert.equal((await curlDigest('eve', 'eve pass')).status, 401, 'a line of another realm');
    await portico.waitForLog((l) => l.object === 'Secret default/digest-users' && l.rule === 'auth-secret' && String(l.msg).includes('"Elsewhere" is not auth-realm'), 5000);
  });

  test('a nonce serves several requests, each with a higher nc; the same nc again is a replay: 401 with stale="true"', async () => {
    const nonce = await freshNonce();
    const first = answer({ user: 'ann', password: 'ann pass', nonce, uri: '/a', nc: 1 });
    assert.equal((await get('digest.test', '/a', { authorization: first })).status, 200);
    const replay = await get('digest.test', '/a', { authorization: first });
    assert.equal(replay.status, 401);
    assert.equal(challenge(replay.headers['www-authenticate']).stale, 'true');
    assert.equal((await get('digest.test', '/a', { authorization: answer({ user: 'ann', password: 'ann pass', nonce, uri: '/a', nc: 2 }) })).status, 200);
  });

  test('the answer is bound to its path and method: another path or method gets 401', async () => {
    const nonce = await freshNonce();
    assert.equal((await get('digest.test', '/b', { authorization: answer({ user: 'ann', password: 'ann pass', nonce, uri: '/a', nc: 1 }) })).status, 401);
    assert.equal((await get('digest.test', '/a', { authorization: answer({ user: 'ann', password: 'ann pass', nonce, uri: '/a', nc: 2, method: 'POST' }) })).status, 401);
  });

  test('a forged nonce: stale="true" only when the password was right; never 200', async () => {
    const forged = `${Math.floor(Date.now() / 1000).toString(16).padStart(8, '0')}${randomBytes(20).toString('hex')}`;
    const right = await get('digest.test', '/', { authorization: answer({ user: 'ann', password: 'ann pass', nonce: forged, uri: '/', nc: 1 }) });
    assert.equal(right.status, 401);
    assert.equal(challenge(right.headers['www-authenticate']).stale, 'true');
    const wrong = await get('digest.test', '/', { authorization: answer({ user: 'ann', password: 'nope', nonce: forged, uri: '/', nc: 1 }) });
    assert.equal(wrong.status, 401);
    assert.equal(challenge(wrong.headers['www-authenticate']).stale, undefined);
  });

  test('malformed and hostile headers: 401, and Basic credentials do not open a digest route', async () => {
    const nonce = await freshNonce();
    const good = answer({ user: 'ann', password: 'ann pass', nonce, uri: '/', nc: 1 });
    for (const authorization of [
      'Digest',
      'Digest username="ann"',
      good.replace('qop=auth', 'qop=auth-int'),
      good.replace('algorithm=MD5', 'algorithm=SHA-256'),
      good.replace(`realm="${REALM}"`, 'realm="Other"'),
      `${good}, username="bob"`,
      good.replace('"ann"', '"ann\\"'),
      `Digest username="${'a'.repeat(4000)}", realm="${REALM}"`,
      `Basic ${Buffer.from('ann:ann pass').toString('base64')}`,
    ]) {
      const r = await get('digest.test', '/', { authorization });
      assert.equal(r.status, 401, authorization.slice(0, 80));
      assert.match(String(r.headers['www-authenticate']), /^Digest /);
    }
  });

  test('a basic-auth route beside it, an invalid auth-type (503) and an open route are unaffected', async () => {
    assert.equal((await get('basic.test', '/', { authorization: `Basic ${Buffer.from('sam:sam pass').toString('base64')}` })).status, 200);
    assert.equal((await get('basic.test')).headers['www-authenticate'], 'Basic realm=""');
    assert.equal((await get('badtype.test')).status, 503);
    assert.equal((await get('open.test')).status, 200);
  });

  test('a changed password is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', objects([htdigest(REALM, 'ann', 'new pass'), lines.bob]));
    await waitFor(async () => (await curlDigest('ann', 'new pass')).status === 200, { timeoutMs: 5000, message: 'the new password never applied' });
    assert.equal((await curlDigest('ann', 'ann pass')).status, 401);
    assert.equal((await curlDigest('bob', 'bob:pass')).status, 200);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
