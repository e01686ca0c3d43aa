// server-alias through real HAProxy: a request for an alias (a name or a one-label wildcard) is routed as one for the
// host, over HTTP and HTTPS, where the alias is offered the host's certificate; a plain-HTTP request for an alias of a
// TLS host is redirected to HTTPS on the alias; an alias that is another Ingress's host stays that Ingress's; a
// changed alias list is live without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, httpGet, httpsGet, ingress, makeCert, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, tlsHandshake, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;
const cert = makeCert({ cn: 'site.alias.test', dnsNames: ['site.alias.test'], keyFormat: 'pkcs8' });

const routes = (aliases: string): string =>
  docs(
    ingress({
      name: 'site',
      annotations: { 'nginx.ingress.kubernetes.io/server-alias': aliases },
      tls: [{ hosts: ['site.alias.test'], secretName: 'site-tls' }],
      rules: [{ host: 'site.alias.test', paths: [{ path: '/', pathType: 'Prefix', service: 'site', port: 80 }] }],
    }),
    ingress({ name: 'other', rules: [{ host: 'other.alias.test', paths: [{ path: '/', pathType: 'Prefix', service: 'other', port: 80 }] }] }),
    ingress({ name: 'www', annotations: { 'nginx.ingress.kubernetes.io/from-to-www-redirect': 'true' }, rules: [{ host: 'redir.alias.test', paths: [{ path: '/', pathType: 'Prefix', service: 'other', port: 80 }] }] }),
  );

const podFor = async (host: string): Promise<string | number> => {
  const r = await httpsGet(portico.httpsPort, { host, servername: host, path: '/x' });
  return r.status === 200 ? r.json<EchoReply>().pod : r.status;
};

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(await singlePodApp(pods, 'site', '127.0.232.1'), await singlePodApp(pods, 'other', '127.0.232.2')));
  await writeManifest(dir, 'secret.yaml', tlsSecretYaml('default', 'site-tls', cert));
  await writeManifest(dir, 'routes.yaml', routes('www.alias.test, *.aliases.test, other.alias.test'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('server-alias', () => {
  test("an alias and a wildcard alias are routed as the host, and offered its certificate", async () => {
    assert.equal(await podFor('www.alias.test'), 'site');
    assert.equal(await podFor('any.aliases.test'), 'site');
    assert.match((await tlsHandshake(portico.httpsPort, { servername: 'www.alias.test' })).cert.subject, /CN=site\.alias\.test/);
  });

  test('plain HTTP to an alias of a TLS host is redirected to HTTPS on the alias', async () => {
    const r = await httpGet(portico.httpPort, { host: 'www.alias.test', path: '/a?b=c' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, 'https://www.alias.test/a?b=c');
  });

  test("an alias that is another Ingress's host stays that Ingress's", async () => {
    assert.equal((await httpGet(portico.httpPort, { host: 'other.alias.test', path: '/' })).json<EchoReply>().pod, 'other');
  });

  test('a changed alias list is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('new.alias.test'));
    await waitFor(async () => (await podFor('new.alias.test')) === 'site', { timeoutMs: 5000, message: 'the new alias never applied' });
    assert.equal(await podFor('www.alias.test'), 404);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});

describe('from-to-www-redirect', () => {
  test("the host's www name redirects to the host with 308, path and query kept less one ending '/', on both listeners", async () => {
    const r = await httpGet(portico.httpPort, { host: 'www.redir.alias.test', path: '/a/?q=1' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, 'http://redir.alias.test/a/?q=1');
    assert.equal((await httpGet(portico.httpPort, { host: 'www.redir.alias.test', path: '/a/' })).headers.location, 'http://redir.alias.test/a');
    const tls = await httpsGet(portico.httpsPort, { host: 'www.redir.alias.test', servername: 'www.redir.alias.test', path: '/b' });
    assert.equal(tls.status, 308);
    assert.equal(tls.headers.location, 'https://redir.alias.test/b');
    assert.equal((await httpGet(portico.httpPort, { host: 'redir.alias.test', path: '/b' })).json<EchoReply>().pod, 'other');
  });
});
