// custom-headers and auth-proxy-set-headers through real HAProxy, their ConfigMaps read from manifest files: the
// client sees the ConfigMap's response headers on every status (the backend's 200 and 404, HAProxy's own 503), over
// the backend's value and a configuration-snippet's, values with quotes, `;`, `#`, `$` and `%[` intact; a missing
// ConfigMap answers 503 until it appears; hostile keys and values are left out and everything else keeps serving. The
// auth service receives the auth-proxy-set-headers ConfigMap's headers, nginx variables expanded. Live: a changed
// value and a removed header are map updates (no reload), a header name no route used before takes one reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configMap, docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, HttpOptions, HttpResponse, Portico } from './harness/index.js';
import { startOAuth2Proxy } from './harness/oauth2-proxy.js';
import type { OAuth2Proxy } from './harness/oauth2-proxy.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let oauth: OAuth2Proxy;
const OAUTH_IP = '127.0.186.3';

const CSP = `default-src 'self'; script-src "nonce" #x $host %[src]`;
const HOSTILE_VALUE = 'x\n  http-request return status 200';

const site = (name: string, host: string, annotations: Record<string, string>, o: { path?: string; service?: string } = {}): string =>
  ingress({ name, annotations, rules: [{ host, paths: [{ path: o.path ?? '/', pathType: 'Prefix', service: o.service ?? 'ch-app', port: 80 }] }] });

interface State {
  security?: Record<string, string>;
  hostile?: boolean;
  late?: boolean;
  auth?: Record<string, string>;
}

const SECURITY = { 'X-Frame-Options': 'DENY', 'Content-Security-Policy': CSP, 'X-Served-By': 'portico' };
const AUTH = { 'X-Auth-Static': 'yes', 'X-Tenant-Host': '$http_x_tenant@$host', 'X-Drop-Me': '' };

function configMaps(s: State = {}): string {
  return docs(
    configMap({ name: 'security', data: s.security ?? SECURITY }),
    configMap({
      name: 'hostile',
      data: s.hostile === false ? { 'X-Kept': 'kept' } : { 'X-Kept': 'kept', 'X-Newline': HOSTILE_VALUE, 'Transfer-Encoding': 'chunked', 'x.dotted': 'a', 'X-Huge': 'a'.repeat(1024 * 1024), 'X-Braces': '{ } # ;' },
    }),
    s.late ? configMap({ name: 'late', data: { 'X-Late': 'here' } }) : '',
    configMap({ name: 'auth-headers', data: s.auth ?? AUTH }),
    configMap({ name: 'auth-hostile', data: { 'X-Ok': 'fine', 'X-Evil': HOSTILE_VALUE, 'X-Braces': '" } lua-load /x #' } }),
    // Read by nobody: every namespace has one.
    configMap({ name: 'kube-root-ca.crt', data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } }),
  );
}

const routes = (): string =>
  docs(
    site('secure', 'ch.test', { [`${P}custom-headers`]: 'security', [`${P}configuration-snippet`]: 'more_set_headers "X-Frame-Options: SAMEORIGIN" "X-Snippet: 1";' }),
    site('secure-down', 'ch.test', { [`${P}custom-headers`]: 'default/security' }, { path: '/down', service: 'nowhere' }),
    site('plain', 'ch.test', {}, { path: '/plain' }),
    site('hostile', 'hostile.test', { [`${P}custom-headers`]: 'hostile' }),
    site('late', 'late.test', { [`${P}custom-headers`]: 'late' }),
    site('other-ns', 'other.test', { [`${P}custom-headers`]: 'kube-system/security' }),
    site('authed', 'auth.test', { [`${P}auth-url`]: `http://${OAUTH_IP}:4180/oauth2/auth`, [`${P}auth-proxy-set-headers`]: 'auth-headers' }),
    site('auth-hostile', 'authhostile.test', { [`${P}auth-url`]: `http://${OAUTH_IP}:4180/oauth2/auth`, [`${P}auth-proxy-set-headers`]: 'auth-hostile' }),
    site('auth-missing', 'authmissing.test', { [`${P}auth-url`]: `http://${OAUTH_IP}:4180/oauth2/auth`, [`${P}auth-proxy-set-headers`]: 'nowhere' }),
  );

const get = (host: string, o: Omit<HttpOptions, 'host'> = {}): Promise<HttpResponse> => httpGet(portico.httpPort, { host, path: '/', ...o });

before(async () => {
  dir = await manifestDir();
  oauth = await startOAuth2Proxy(OAUTH_IP, 4180);
  await writeManifest(dir, 'apps.yaml', docs(await singlePodApp(pods, 'ch-app', '127.0.186.1'), service({ name: 'nowhere', ports: [{ port: 80 }] }), endpointSlice({ name: 'nowhere-1', service: 'nowhere', ports: [{ port: 80 }], endpoints: [] })));
  await writeManifest(dir, 'configmaps.yaml', configMaps());
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(async () => {
  await oauth?.close();
  await stopEverything(pods);
});

describe('custom-headers', () => {
  test("the ConfigMap's headers reach the client exactly, over the backend's and the snippet's", async () => {
    const r = await get('ch.test', { path: '/?reply-header=x-served-by:backend' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'ch-app');
    assert.equal(r.headers['content-security-policy'], CSP, 'quotes, ";", "#", "$" and "%[" arrive as written');
    assert.equal(r.headers['x-served-by'], 'portico', "replacing the backend's");
    assert.equal(r.headers['x-frame-options'], 'DENY', "the ConfigMap's value over the configuration-snippet's");
    assert.equal(r.headers['x-snippet'], '1', "the snippet's other headers stay");
  });

  test("on every status: a backend's 404 and HAProxy's own 503", async () => {
    const notFound = await get('ch.test', { path: '/status/404' });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers['x-frame-options'], 'DENY');
    const down = await get('ch.test', { path: '/down' });
    assert.equal(down.status, 503);
    assert.equal(down.headers['x-frame-options'], 'DENY');
    assert.equal(down.headers['content-security-policy'], CSP);
  });

  test("another Ingress's path on the same host gets none of them", async () => {
    const r = await get('ch.test', { path: '/plain' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-frame-options'], undefined);
    assert.equal(r.headers['content-security-policy'], undefined);
  });

  test('hostile keys and values (a line break, a framing header, a dotted key, a megabyte) are left out; the rest applies', async () => {
    const r = await get('hostile.test', { path: '/?reply-header=x-probe:1' });
    assert.equal(r.status, 200, 'served, not answered by an injected rule');
    assert.equal(r.json<EchoReply>().pod, 'ch-app');
    assert.equal(r.headers['x-kept'], 'kept');
    assert.equal(r.headers['x-braces'], '{ } # ;');
    assert.equal(r.headers['x-newline'], undefined);
    assert.equal(r.headers['x-huge'], undefined);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal(r.headers['x-probe'], '1');
    assert.equal((await get('ch.test')).headers['x-frame-options'], 'DENY', 'other Ingresses unaffected');
  });

  test('a ConfigMap of another namespace is refused with 503', async () => {
    assert.equal((await get('other.test')).status, 503);
  });

  test('a missing ConfigMap answers 503 until it appears; then its headers apply (a new name: one reload)', async () => {
    const reloads = await reloadCount(portico.adminPort);
    assert.equal((await get('late.test')).status, 503);
    await writeManifest(dir, 'configmaps.yaml', configMaps({ late: true }));
    await waitFor(async () => (await get('late.test')).status === 200, { timeoutMs: 10_000, message: 'the late ConfigMap never applied' });
    assert.equal((await get('late.test')).headers['x-late'], 'here');
    // Counted once the new worker has taken over, which may come just after it serves.
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'a new header name was not one reload' });
  });

  test('live: a changed value and a removed header are map updates; a new header name takes one reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'configmaps.yaml', configMaps({ late: true, security: { ...SECURITY, 'X-Frame-Options': 'SAMEORIGIN', 'X-Served-By': 'edge' } }));
    await waitFor(async () => (await get('ch.test')).headers['x-served-by'] === 'edge', { timeoutMs: 10_000, message: 'the new value never applied' });
    assert.equal((await get('ch.test')).headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(await reloadCount(portico.adminPort), reloads, 'a changed value: no reload');

    const { 'Content-Security-Policy': _csp, ...withoutCsp } = SECURITY;
    await writeManifest(dir, 'configmaps.yaml', configMaps({ late: true, security: withoutCsp }));
    await waitFor(async () => (await get('ch.test')).headers['content-security-policy'] === undefined, { timeoutMs: 10_000, message: 'the removed header stayed' });
    assert.equal((await get('ch.test', { path: '/down' })).headers['content-security-policy'], undefined);
    assert.equal(await reloadCount(portico.adminPort), reloads, 'a removed header: no reload');

    await writeManifest(dir, 'configmaps.yaml', configMaps({ late: true, security: { ...SECURITY, 'X-Brand-New': 'yes' } }));
    await waitFor(async () => (await get('ch.test')).headers['x-brand-new'] === 'yes', { timeoutMs: 15_000, message: 'the new header never applied' });
    await waitFor(async () => (await reloadCount(portico.adminPort)) === reloads + 1, { timeoutMs: 5000, message: 'a new header name was not one reload' });
  });
});

describe('auth-proxy-set-headers', () => {
  const lastAuth = () => oauth.requests.at(-1)!;
  const asAlice = { cookie: '_oauth2_proxy=valid-alice', 'x-tenant': 'blue', 'x-drop-me': 'client' };

  test("the auth service receives the ConfigMap's headers, variables expanded, an empty value removing the client's", async () => {
    const r = await get('auth.test', { headers: asAlice });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'ch-app');
    const seen = lastAuth().headers;
    assert.equal(seen['x-auth-static'], 'yes');
    assert.equal(seen['x-tenant-host'], 'blue@auth.test');
    assert.equal(seen['x-drop-me'], undefined);
    assert.equal(seen.host, `${OAUTH_IP}`, 'never the ConfigMap\'s');
  });

  test('a missing ConfigMap refuses the paths with 503 (external authentication fails closed)', async () => {
    const before = oauth.requests.length;
    assert.equal((await get('authmissing.test', { headers: asAlice })).status, 503);
    assert.equal(oauth.requests.length, before, 'the auth service is not asked');
  });

  test('a hostile entry (a line break with an HAProxy keyword) refuses its route (503) and no other', async () => {
    const before = oauth.requests.length;
    assert.equal((await get('authhostile.test', { headers: asAlice })).status, 503);
    assert.equal(oauth.requests.length, before, 'the auth service is not asked');
    assert.equal((await get('auth.test', { headers: asAlice })).status, 200);
    assert.equal((await get('ch.test')).status, 200);
  });

  test('live: a changed value reaches the auth service without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'configmaps.yaml', configMaps({ late: true, security: { ...SECURITY, 'X-Brand-New': 'yes' }, auth: { ...AUTH, 'X-Auth-Static': 'changed', 'X-Added': '$request_method' } }));
    await waitFor(
      async () => {
        await get('auth.test', { headers: asAlice });
        return lastAuth().headers['x-auth-static'] === 'changed';
      },
      { timeoutMs: 10_000, message: 'the new value never reached the auth service' },
    );
    assert.equal(lastAuth().headers['x-added'], 'GET', 'a new name is data too');
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
