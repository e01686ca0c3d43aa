// The dashboard in a real browser (playwright-core driving Debian's chromium, headless) against a running Portico
// over manifests: a route added to the manifests appears without a page reload, requests show up in the rates, an
// endpoint whose pod stopped turns red once HAProxy counts failed attempts on it, explain answers from the box,
// search pages on the server, hostile names are shown as text, the page runs under its Content-Security-Policy with
// nothing blocked, and `--dashboard=false` takes it away. Screenshots at laptop and phone widths go to
// test-output/dashboard/ (or $TEST_OUTPUT_DIR/dashboard/).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { docs, endpointSlice, httpGet, ingress, makeCert, manifestDir, reloadCount, service, startEcho, startPortico, stopEverything, tlsSecretYaml, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const SHOTS = join(process.env.TEST_OUTPUT_DIR ?? join(REPO_ROOT, 'test-output'), 'dashboard');

const pods: Echo[] = [];
let dir = '';
let portico: Portico;
let browser: Browser;
let page: Page;
/** What the page logged as errors (a CSP violation included) and any dialog it opened: both must stay empty. */
const pageErrors: string[] = [];

const shop = (ips: string[]): string =>
  docs(service({ name: 'shop', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'shop-1', service: 'shop', ports: [{ port: 3000 }], endpoints: ips.map((ip) => ({ ip })) }));

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (scripts/setup.sh chromium)`);
  dir = await manifestDir();
  pods.push(await startEcho({ pod: 'shop-1', ip: '127.0.137.1', port: 3000 }), await startEcho({ pod: 'shop-2', ip: '127.0.137.2', port: 3000 }));
  const cert = makeCert({ dnsNames: ['secure.test'], keyFormat: 'pkcs8', days: 10 });
  await writeManifest(dir, 'apps.yaml', shop(['127.0.137.1', '127.0.137.2']));
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      tlsSecretYaml('default', 'shop-tls', cert),
      ingress({ name: 'shop', rules: [{ host: 'shop.test', paths: [{ path: '/', pathType: 'Prefix', service: 'shop', port: 80 }] }] }),
      ingress({ name: 'secure', tls: [{ hosts: ['secure.test'], secretName: 'shop-tls' }], rules: [{ host: 'secure.test', paths: [{ path: '/', pathType: 'Prefix', service: 'shop', port: 80 }] }] }),
      // Refused by the grammar (V7): its host is user data the page must show as text, never as markup.
      ingress({ name: 'hostile', rules: [{ host: '<img src=x onerror=alert(1)>', paths: [{ path: '/', pathType: 'Prefix', service: 'shop', port: 80 }] }] }),
    ),
  );
  // A megabyte of host: refused (V7), quoted by its diagnostic, clipped by the dashboard.
  await writeManifest(dir, 'huge.yaml', ingress({ name: 'huge', rules: [{ host: 'h'.repeat(1_000_000), paths: [{ path: '/', pathType: 'Prefix', service: 'shop', port: 80 }] }] }));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => {
    pageErrors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await stopEverything(pods);
});

const hostCard = (host: string) => page.locator(`article.host[data-host="${host}"]`);

/** Waits until `expression`, JavaScript run in the page, is true. Written as text because the tests compile without
 * the DOM's types, and polled from here: page.waitForFunction compiles its text inside the page, which the page's
 * Content-Security-Policy (no 'unsafe-eval') rightly refuses. */
async function inPage(expression: string, timeout = 10_000): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new Error(`not true after ${timeout} ms: ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the dashboard in chromium', () => {
  test('served on the admin listener with a strict Content-Security-Policy, assets from Portico itself', async () => {
    const r = await httpGet(portico.adminPort, { path: '/' });
    assert.equal(r.status, 200);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(r.body, /<script>|<style|(src|href)="(https?:)?\/\//, 'inline script or style, or an external resource');
    assert.equal((await httpGet(portico.adminPort, { path: '/dashboard/assets/app.js' })).status, 200);
    assert.equal((await httpGet(portico.adminPort, { path: '/dashboard/assets/other.js' })).status, 404);
    assert.equal((await httpGet(portico.adminPort, { path: '/debug/dashboard.json?page=0' })).status, 400);
    // Never on the traffic listener.
    const traffic = await httpGet(portico.httpPort, { host: 'shop.test', path: '/debug/dashboard.json' });
    assert.equal(traffic.json<{ pod: string }>().pod !== undefined, true, 'the traffic port routed it to the app, as any path');
  });

  test('hosts, paths, Services and endpoints, with the TLS badge', async () => {
    await page.goto(`http://127.0.0.1:${portico.adminPort}/`);
    await hostCard('shop.test').waitFor({ timeout: 10_000 });
    const card = hostCard('shop.test');
    assert.match(await card.innerText(), /default\/shop:80/);
    assert.doesNotMatch(await card.innerText(), /TLS/);
    assert.match(await hostCard('secure.test').innerText(), /TLS/);
    assert.equal(await card.locator('.ep').count(), 2);
    await inPage(`document.querySelectorAll('article.host[data-host="shop.test"] .ep[data-health="up"]').length === 2`);
  });

  test('a route added to the manifests appears without reloading the page', async () => {
    await writeManifest(dir, 'blog.yaml', ingress({ name: 'blog', rules: [{ host: 'blog.test', paths: [{ path: '/posts', pathType: 'Prefix', service: 'shop', port: 80 }] }] }));
    await hostCard('blog.test').waitFor({ timeout: 15_000 });
    assert.match(await hostCard('blog.test').innerText(), /\/posts/);
  });

  test('requests show up in the rates of the host, the Ingress and the totals', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await httpGet(portico.httpPort, { host: 'shop.test', path: `/item/${i}` })).status, 200);
    await inPage(`Number((/req\\/s ([0-9.]+)/.exec(document.querySelector('article.host[data-host="shop.test"] .stats')?.textContent ?? '') ?? [])[1] ?? 0) > 0`);
    assert.notEqual(await page.locator('#card-rate .value').innerText(), '0.00');
    // By name blog.test comes first; the busiest first is shop.test.
    await page.locator('#sort').selectOption('rate');
    await inPage(`document.querySelector('article.host')?.getAttribute('data-host') === 'shop.test'`);
    await page.locator('#sort').selectOption('name');
    await inPage(`document.querySelector('article.host')?.getAttribute('data-host') === 'blog.test'`);
    await page.locator('#tabs button[data-view="ingresses"]').click();
    const row = page.locator('tr', { hasText: 'default/shop' }).first();
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.ok(Number(cells[2]) > 0, `req/s of default/shop: ${cells.join(' | ')}`);
    assert.equal(cells[3], '0.0%');
    await page.locator('#tabs button[data-view="hosts"]').click();
  });

  test('laptop and phone screenshots', async () => {
    await page.screenshot({ path: join(SHOTS, 'laptop.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    await phone.goto(`http://127.0.0.1:${portico.adminPort}/`);
    await phone.locator('article.host[data-host="shop.test"]').waitFor();
    // Nothing wider than the phone: no sideways scrolling.
    assert.ok(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1'), 'the page scrolls sideways at 390 px');
    await phone.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
    await phone.close();
    assert.ok(existsSync(join(SHOTS, 'laptop.png')) && existsSync(join(SHOTS, 'phone.png')));
  });

  test('an endpoint whose pod stopped turns red once HAProxy counts failed attempts on it, without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await pods[1]!.close();
    // Round robin sends some of these to the stopped pod: refused, then redispatched to the live one.
    for (let i = 0; i < 10; i++) await httpGet(portico.httpPort, { host: 'shop.test', path: `/after/${i}` });
    await inPage(`document.querySelector('article.host[data-host="shop.test"] .ep[data-health="failing"]')?.textContent === '127.0.137.2:3000'`, 15_000);
    assert.equal(await page.evaluate(`getComputedStyle(document.querySelector('article.host[data-host="shop.test"] .ep[data-health="failing"]')).color`), 'rgb(196, 43, 28)');
    assert.equal(await page.locator('article.host[data-host="shop.test"] .ep[data-health="up"]').innerText(), '127.0.137.1:3000');
    assert.equal(await reloadCount(portico.adminPort), reloads, 'a failing endpoint is not a configuration change');
    await page.screenshot({ path: join(SHOTS, 'laptop-endpoint-failing.png'), fullPage: true });
  });

  test('an endpoint removed from its EndpointSlice leaves; a Service left with none is red', async () => {
    await writeManifest(dir, 'apps.yaml', shop([]));
    await inPage(`/no ready endpoints/.test(document.querySelector('article.host[data-host="shop.test"] .ep.down')?.textContent ?? '')`, 15_000);
    assert.equal(await page.evaluate(`getComputedStyle(document.querySelector('article.host[data-host="shop.test"] .ep.down')).color`), 'rgb(196, 43, 28)');
    assert.equal(await page.locator('article.host[data-host="shop.test"] .ep[data-health]').count(), 0);
    await writeManifest(dir, 'apps.yaml', shop(['127.0.137.1']));
    await inPage(`document.querySelectorAll('article.host[data-host="shop.test"] .ep[data-health]').length === 1`, 15_000);
  });

  test('explain answers from the box', async () => {
    await page.locator('#explain-url').fill('http://blog.test/posts/1');
    await page.locator('#explain button[type=submit]').click();
    await inPage(`/default\\/blog/.test(document.getElementById('explain-answer')?.textContent ?? '')`);
    const answer = await page.locator('#explain-answer').innerText();
    assert.match(answer, /default\/shop/);
    await page.locator('#explain-url').fill('nowhere.test/x');
    await page.locator('#explain button[type=submit]').click();
    await inPage(`!/default\\/blog/.test(document.getElementById('explain-answer')?.textContent ?? '') && !/explaining/.test(document.getElementById('explain-answer')?.textContent ?? '')`);
    assert.match(await page.locator('#explain-answer').innerText(), /404|no route|not found/i);
  });

  test('search filters on the server; certificates with their expiry; problems with rule ids, shown as text', async () => {
    await page.locator('#search').fill('blog');
    await inPage(`document.querySelectorAll('article.host').length === 1 && document.querySelector('article.host')?.getAttribute('data-host') === 'blog.test'`);
    assert.match(await page.locator('#page-info').innerText(), /1 match/);
    await page.locator('#search').fill('');
    await page.locator('#tabs button[data-view="certificates"]').click();
    const cert = page.locator('tr', { hasText: 'default/shop-tls' });
    await cert.waitFor({ timeout: 10_000 });
    const cells = await cert.locator('td').allInnerTexts();
    assert.equal(cells[1], 'secure.test');
    assert.ok(Number(cells[3]) >= 8 && Number(cells[3]) <= 10, `days left: ${cells[3]}`);
    await page.locator('#tabs button[data-view="problems"]').click();
    const problem = page.locator('tr', { hasText: 'Ingress default/hostile' }).first();
    await problem.waitFor({ timeout: 10_000 });
    const p = await problem.locator('td').allInnerTexts();
    assert.equal(p[2], 'V7');
    assert.ok(p[4]!.includes('<img src=x onerror=alert(1)>'), p[4]);
    assert.equal(await page.locator('#rows img').count(), 0, 'a diagnostic became markup');
    await page.screenshot({ path: join(SHOTS, 'laptop-problems.png'), fullPage: true });
    await page.locator('#search').fill('default/huge');
    await inPage(`document.querySelectorAll('#rows tbody tr').length === 1 && /default\\/huge/.test(document.querySelector('#rows tbody tr')?.textContent ?? '')`);
    const huge = await page.locator('#rows tbody tr td').nth(4).innerText();
    assert.ok(huge.length < 1100 && /more characters\)$/.test(huge), `${huge.length} characters`);
    await page.locator('#search').fill('');
    await page.locator('#tabs button[data-view="ingresses"]').click();
    const invalid = page.locator('tr', { hasText: 'default/hostile' });
    await invalid.waitFor();
    assert.match(await invalid.innerText(), /invalid[\s\S]*V7/);
  });

  test('nothing was blocked by the Content-Security-Policy, no script error, no dialog', () => {
    assert.deepEqual(pageErrors, []);
  });
});

describe('--dashboard=false', () => {
  test('/ and /debug/dashboard.json are 404, /debug/explain and /metrics still served', async () => {
    const off = await startPortico({ manifests: dir, args: ['--dashboard=false', '--reload-interval', '0'] });
    await off.waitReady();
    assert.equal((await httpGet(off.adminPort, { path: '/' })).status, 404);
    assert.equal((await httpGet(off.adminPort, { path: '/dashboard/assets/app.js' })).status, 404);
    assert.equal((await httpGet(off.adminPort, { path: '/debug/dashboard.json' })).status, 404);
    assert.equal((await httpGet(off.adminPort, { path: '/debug/explain?url=http://blog.test/posts' })).status, 200);
    assert.equal((await httpGet(off.adminPort, { path: '/metrics' })).status, 200);
    await off.stop();
  });

  test('--debug-endpoints=false takes the dashboard away too', async () => {
    const off = await startPortico({ manifests: dir, args: ['--debug-endpoints=false', '--reload-interval', '0'] });
    await off.waitReady();
    assert.equal((await httpGet(off.adminPort, { path: '/' })).status, 404);
    assert.equal((await httpGet(off.adminPort, { path: '/debug/dashboard.json' })).status, 404);
    await off.stop();
  });
});
