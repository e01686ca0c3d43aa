// Canary Ingresses through real HAProxy: which pod answers a route with a canary attached, by header (always/never,
// a custom value, a pattern), by cookie (always/never, the name in any case), by weight (0 and the total exactly, an
// intermediate weight within a generous statistical bound), in ingress-nginx's precedence (header, then cookie, then
// weight); the main Ingress's other paths untouched; the canary's own annotations not applied; a weight change and
// the canary's deletion live without a reload; and the canary kept on a connection the replaced worker still answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { docs, httpGet, httpGetVia, ingress, manifestDir, reloadCount, service, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const prefixed = (a: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(a).map(([k, v]) => [P + k, v]));

/** A main Ingress on `host` (Prefix / and /other, both to cn-main) and a canary Ingress for its `/` to cn-canary. */
function pair(name: string, host: string, canary: Record<string, string>): string {
  return docs(
    ingress({ name: `${name}-main`, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'cn-main', port: 80 }, { path: '/other', pathType: 'Prefix', service: 'cn-main', port: 80 }] }] }),
    ingress({ name: `${name}-canary`, annotations: prefixed({ canary: 'true', ...canary }), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: 'cn-canary', port: 80 }] }] }),
  );
}

const routes = (weight = '300', withWeighted = true): string =>
  docs(
    pair('hdr', 'hdr.test', { 'canary-by-header': 'X-Canary' }),
    // The redirect is the canary's own annotation: ignored, as ingress-nginx ignores a canary's location settings.
    pair('prec', 'prec.test', { 'canary-by-header': 'x-canary', 'canary-by-cookie': 'beta', 'canary-weight': '100', 'permanent-redirect': 'https://elsewhere.example/' }),
    pair('val', 'val.test', { 'canary-by-header': 'x-canary', 'canary-by-header-value': 'blue' }),
    pair('pat', 'pat.test', { 'canary-by-header': 'x-canary', 'canary-by-header-pattern': '^v2|beta$' }),
    pair('cookie', 'cookie.test', { 'canary-by-cookie': 'Beta' }),
    ...(withWeighted ? [pair('weight', 'weight.test', { 'canary-weight': weight, 'canary-weight-total': '1000' })] : [ingress({ name: 'weight-main', rules: [{ host: 'weight.test', paths: [{ path: '/', pathType: 'Prefix', service: 'cn-main', port: 80 }] }] })]),
  );

/** The pod that answered a GET on `host`, or the status when it was not a 200. */
async function pod(host: string, headers: Record<string, string> = {}, path = '/'): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path, headers });
  return r.status === 200 ? r.json<EchoReply>().pod : `status ${r.status}`;
}

async function count(host: string, n: number): Promise<number> {
  let canary = 0;
  for (let i = 0; i < n; i++) if ((await pod(host)) === 'cn-canary') canary++;
  return canary;
}

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(await singlePodApp(pods, 'cn-main', '127.0.235.1'), await singlePodApp(pods, 'cn-canary', '127.0.235.2')));
  await writeManifest(dir, 'routes.yaml', routes());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('canary-by-header', () => {
  test('"always" sends to the canary, "never" and other values do not (weight 0); the name in any case', async () => {
    assert.equal(await pod('hdr.test', { 'x-canary': 'always' }), 'cn-canary');
    assert.equal(await pod('hdr.test', { 'X-CANARY': 'always' }), 'cn-canary');
    assert.equal(await pod('hdr.test', { 'x-canary': 'never' }), 'cn-main');
    assert.equal(await pod('hdr.test', { 'x-canary': 'Always' }), 'cn-main');
    assert.equal(await pod('hdr.test'), 'cn-main');
  });

  test('canary-by-header-value: that exact value, and "always" means nothing any more', async () => {
    assert.equal(await pod('val.test', { 'x-canary': 'blue' }), 'cn-canary');
    assert.equal(await pod('val.test', { 'x-canary': 'BLUE' }), 'cn-main');
    assert.equal(await pod('val.test', { 'x-canary': 'always' }), 'cn-main');
    assert.equal(await pod('val.test', { 'x-canary': 'blueish' }), 'cn-main');
  });

  test('canary-by-header-pattern: a regular expression searched for in the value, case-sensitive', async () => {
    assert.equal(await pod('pat.test', { 'x-canary': 'v2-rc1' }), 'cn-canary');
    assert.equal(await pod('pat.test', { 'x-canary': 'is-beta' }), 'cn-canary');
    assert.equal(await pod('pat.test', { 'x-canary': 'xv2' }), 'cn-main', '^ anchors the first branch');
    assert.equal(await pod('pat.test', { 'x-canary': 'V2' }), 'cn-main');
    assert.equal(await pod('pat.test', { 'x-canary': 'always' }), 'cn-main');
  });
});

describe('canary-by-cookie', () => {
  test('"always" and "never"; the cookie name in any case, among other cookies', async () => {
    assert.equal(await pod('cookie.test', { cookie: 'a=1; beta=always' }), 'cn-canary');
    assert.equal(await pod('cookie.test', { cookie: 'BETA=always; b=2' }), 'cn-canary');
    assert.equal(await pod('cookie.test', { cookie: 'beta=never' }), 'cn-main');
    assert.equal(await pod('cookie.test', { cookie: 'xbeta=always' }), 'cn-main');
    assert.equal(await pod('cookie.test', { cookie: 'beta=yes' }), 'cn-main');
    assert.equal(await pod('cookie.test'), 'cn-main');
  });
});

describe('precedence: header, then cookie, then weight', () => {
  test('weight 100 of 100 sends everything undecided to the canary; never by header or cookie overrides it', async () => {
    for (let i = 0; i < 20; i++) assert.equal(await pod('prec.test'), 'cn-canary');
    assert.equal(await pod('prec.test', { 'x-canary': 'never' }), 'cn-main');
    assert.equal(await pod('prec.test', { cookie: 'beta=never' }), 'cn-main');
  });

  test('the header decides before the cookie; an undecided header leaves it to the cookie', async () => {
    assert.equal(await pod('prec.test', { 'x-canary': 'always', cookie: 'beta=never' }), 'cn-canary');
    assert.equal(await pod('prec.test', { 'x-canary': 'never', cookie: 'beta=always' }), 'cn-main');
    assert.equal(await pod('prec.test', { 'x-canary': 'maybe', cookie: 'beta=never' }), 'cn-main');
  });

  test("the canary Ingress's own annotations do not apply (its permanent-redirect is ignored)", async () => {
    const r = await httpGet(portico.httpPort, { host: 'prec.test', path: '/' });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().pod, 'cn-canary');
  });

  test("the main Ingress's other path, to the same Service, is not split", async () => {
    for (let i = 0; i < 20; i++) assert.equal(await pod('prec.test', {}, '/other/x'), 'cn-main');
  });
});

describe('canary-weight', () => {
  test('weight 0 sends nothing to the canary', async () => {
    assert.equal(await count('hdr.test', 50), 0);
  });

  test('300 of 1000 sends about 30% to the canary', async () => {
    const n = 600;
    const canary = await count('weight.test', n);
    // Expected 180, standard deviation about 11: the bound is more than five deviations either way.
    assert.ok(canary > 120 && canary < 240, `${canary} of ${n}`);
  });
});

describe('live changes', () => {
  test('a changed weight is live without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('1000'));
    await waitFor(async () => (await count('weight.test', 20)) === 20, { timeoutMs: 5000, message: 'weight 1000 of 1000 never sent everything to the canary' });
    await writeManifest(dir, 'routes.yaml', routes('0'));
    await waitFor(async () => (await count('weight.test', 20)) === 0, { timeoutMs: 5000, message: 'weight 0 never stopped the canary' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('a request on a connection kept alive across a reload still gets the canary', async () => {
    // The replaced worker answers one more request on each idle connection; HAProxy 2.6.12 counts no usable server
    // in any backend of a stopping worker (nbsrv 0, fixed upstream after 2.6.12), which skipped the canary.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = async (): Promise<string> => {
      const r = await httpGetVia(agent, portico.httpPort, { host: 'hdr.test', headers: { 'x-canary': 'always' } });
      return r.status === 200 ? r.json<EchoReply>().pod : `status ${r.status}`;
    };
    try {
      assert.equal(await viaAgent(), 'cn-canary');
      const reloads = await reloadCount(portico.adminPort);
      // An ExternalName Service is configuration text: a reload.
      await writeManifest(dir, 'reload.yaml', docs(service({ name: 'ext', type: 'ExternalName', externalName: 'ext.invalid', ports: [{ port: 80 }] }), ingress({ name: 'ext', rules: [{ host: 'ext.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ext', port: 80 }] }] })));
      await waitFor(async () => (await reloadCount(portico.adminPort)) > reloads, { timeoutMs: 15_000, message: 'no reload' });
      assert.equal(await viaAgent(), 'cn-canary', 'the replaced worker kept the canary');
      assert.equal(await viaAgent(), 'cn-canary', 'and so does the new one');
    } finally {
      agent.destroy();
    }
  });

  test('the canary Ingress deleted: everything goes to the main Service, without a reload', async () => {
    await writeManifest(dir, 'routes.yaml', routes('1000'));
    await waitFor(async () => (await count('weight.test', 10)) === 10, { timeoutMs: 5000, message: 'the canary never came back' });
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('1000', false));
    await waitFor(async () => (await count('weight.test', 20)) === 0, { timeoutMs: 5000, message: 'traffic still reached the deleted canary' });
    assert.equal(await pod('weight.test', { 'x-canary': 'always' }), 'cn-main');
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
