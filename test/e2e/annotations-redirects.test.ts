// The redirect annotations through real HAProxy, as a client of ingress-nginx sees them: permanent-redirect and
// temporal-redirect answer every request of the Ingress's paths with the URL as written (path and query not
// appended), their codes, temporal over permanent, both before the HTTPS redirect of a TLS host; other Ingresses on
// the same host are untouched. A changed URL is live without a reload; a code no route used before takes one. Bad
// values and unknown keys are reported and change nothing else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, httpsGet, ingress, manifestDir, reloadCount, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Awaited<ReturnType<typeof startPortico>>;
const P = 'nginx.ingress.kubernetes.io/';

const site = (name: string, host: string, annotations: Record<string, string>, path = '/', tls = false): string =>
  ingress({ name, annotations, ...(tls ? { tls: [{ hosts: [host] }] } : {}), rules: [{ host, paths: [{ path, pathType: 'Prefix', service: 'blue', port: 80 }] }] });

const reloads = (): Promise<number> => reloadCount(portico.adminPort);

/** Status and Location of a plain-HTTP request; `pod` when the backend answered. */
async function answer(host: string, path = '/'): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path });
  if (r.status === 200) return `200 ${r.json<{ pod: string }>().pod}`;
  const location = r.headers.location;
  return `${r.status}${location === undefined ? '' : ` ${String(location)}`}`;
}

async function eventually(host: string, want: string, path = '/'): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = await answer(host, path);
      return last === want;
    },
    { timeoutMs: 5000, intervalMs: 25, message: `${host}${path} never answered ${want} (last: ${last})` },
  );
}

before(async () => {
  dir = await manifestDir();
  pods.push(await startEcho({ pod: 'blue', ip: '127.0.61.1', port: 3000 }));
  await writeManifest(
    dir,
    'apps.yaml',
    docs(service({ name: 'blue', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'blue-1', service: 'blue', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.61.1' }] })),
  );
  await writeManifest(
    dir,
    'redirects.yaml',
    docs(
      site('moved', 'moved.test', { [`${P}permanent-redirect`]: 'https://new.example.com/landing' }),
      site('moved-308', 'moved-308.test', { [`${P}permanent-redirect`]: 'https://new.example.com/', [`${P}permanent-redirect-code`]: '308' }),
      site('odd-code', 'odd-code.test', { [`${P}permanent-redirect`]: 'http://x.example.com/', [`${P}permanent-redirect-code`]: '200' }),
      site('both', 'both.test', { [`${P}permanent-redirect`]: 'https://permanent.example.com/', [`${P}temporal-redirect`]: 'https://temporal.example.com/', [`${P}temporal-redirect-code`]: '307' }),
      site('secure', 'secure.test', { [`${P}permanent-redirect`]: 'https://elsewhere.example.com/' }, '/', true),
      site('shared-old', 'shared.test', { [`${P}permanent-redirect`]: 'https://shared.example.com/new' }, '/old'),
      site('shared-rest', 'shared.test', {}),
      site('hostile', 'hostile.test', { [`${P}permanent-redirect`]: 'https://x.example.com/\n  http-request deny', 'portico.dev/unheard-of': 'x', [`${P}client-max-body-size`]: '1m' }),
    ),
  );
  portico = await startPortico({ manifests: [dir], args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('permanent-redirect and temporal-redirect', () => {
  test('every request gets the URL as written, 301 by default; the backend is not asked', async () => {
    assert.equal(await answer('moved.test'), '301 https://new.example.com/landing');
    assert.equal(await answer('moved.test', '/deep/path?q=1'), '301 https://new.example.com/landing');
    assert.equal(pods[0]!.requests, 0, 'the backend saw no request');
  });

  test('permanent-redirect-code sets the status; a number outside 300-308 means 301, as in ingress-nginx', async () => {
    assert.equal(await answer('moved-308.test'), '308 https://new.example.com/');
    assert.equal(await answer('odd-code.test'), '301 http://x.example.com/');
  });

  test('temporal-redirect wins over permanent-redirect, with its own code', async () => {
    assert.equal(await answer('both.test'), '307 https://temporal.example.com/');
  });

  test('on a TLS host it comes before the HTTPS redirect, and HTTPS requests get it too', async () => {
    assert.equal(await answer('secure.test', '/x'), '301 https://elsewhere.example.com/');
    const r = await httpsGet(portico.httpsPort, { host: 'secure.test', servername: 'secure.test', path: '/x' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://elsewhere.example.com/');
  });

  test("only the annotated Ingress's paths redirect; another Ingress on the same host is served", async () => {
    assert.equal(await answer('shared.test', '/old/page'), '301 https://shared.example.com/new');
    assert.equal(await answer('shared.test', '/other'), '200 blue');
  });

  test('a bad URL is reported (A1) and left out: the Ingress is served as if it had none; unknown keys are named (A3)', async () => {
    const bad = await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A1', 5000);
    assert.equal(bad.field, `metadata.annotations[${P}permanent-redirect]`);
    const misnomer = await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A3' && String(l.field).includes('client-max-body-size'), 5000);
    assert.match(String(misnomer.msg), /did you mean "nginx\.ingress\.kubernetes\.io\/proxy-body-size"/);
    await portico.waitForLog((l) => l.object === 'Ingress default/hostile' && l.rule === 'A3' && String(l.field).includes('portico.dev/unheard-of'), 5000);
    assert.equal(await answer('hostile.test'), '200 blue');
    assert.equal(await answer('moved.test'), '301 https://new.example.com/landing');
  });
});

describe('live changes', () => {
  test('a changed URL goes live without a reload', async () => {
    const before = await reloads();
    await writeManifest(dir, 'live.yaml', site('live', 'moved.test', { [`${P}permanent-redirect`]: 'https://second.example.com/' }, '/live'));
    await eventually('moved.test', '301 https://second.example.com/', '/live');
    await writeManifest(dir, 'live.yaml', site('live', 'moved.test', { [`${P}permanent-redirect`]: 'https://third.example.com/' }, '/live'));
    await eventually('moved.test', '301 https://third.example.com/', '/live');
    assert.equal(await reloads(), before, 'no reload for a new route or a changed URL with a code already in use');
  });

  test('a code no route used before takes one reload; removing the annotation serves the backend again', async () => {
    const before = await reloads();
    await writeManifest(dir, 'live.yaml', site('live', 'moved.test', { [`${P}temporal-redirect`]: 'https://fourth.example.com/' }, '/live'));
    await eventually('moved.test', '302 https://fourth.example.com/', '/live');
    // The counter moves once the reload is confirmed, which may be just after the new worker answers.
    await waitFor(async () => (await reloads()) === before + 1, { timeoutMs: 5000, message: 'the reload was not counted' });
    await writeManifest(dir, 'live.yaml', site('live', 'moved.test', {}, '/live'));
    await eventually('moved.test', '200 blue', '/live');
    assert.equal(await reloads(), before + 1, 'dropping a redirect is a map update');
  });
});
