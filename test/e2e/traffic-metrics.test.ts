// The per-request traffic series through real HAProxy, as an ingress-nginx dashboard reads them: requests counted by
// status, method, Ingress path, namespace, Ingress, Service and host; the canary label set only on what the canary
// served; histograms of the request's time and sizes; labels that stay bounded whatever a client sends (a request no
// route serves, an unknown method, a million distinct paths under one Ingress path); and the access log's lines
// naming the Ingress and rule from the same matcher.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const app = (name: string, ip: string): string =>
  docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }));

async function scrape(): Promise<string> {
  const r = await httpGet(portico.adminPort, { path: '/metrics' });
  assert.equal(r.status, 200);
  return r.body;
}

/** Sum of the series `name{...}` whose labels include all of `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

const seriesOf = (text: string, name: string): number => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;

before(async () => {
  dir = await manifestDir();
  pods.push(await startEcho({ pod: 'shop-1', ip: '127.0.221.1', port: 3000 }), await startEcho({ pod: 'shop-canary-1', ip: '127.0.221.2', port: 3000 }));
  await writeManifest(dir, 'apps.yaml', docs(app('shop', '127.0.221.1'), app('shop-canary', '127.0.221.2')));
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      ingress({ ns: 'default', name: 'shop', rules: [{ host: 'shop.test', paths: [{ path: '/api', pathType: 'Prefix', service: 'shop', port: 80 }] }] }),
      ingress({
        ns: 'default',
        name: 'shop-canary',
        annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-by-header': 'x-canary' },
        rules: [{ host: 'shop.test', paths: [{ path: '/api', pathType: 'Prefix', service: 'shop-canary', port: 80 }] }],
      }),
    ),
  );
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'], env: { ...process.env, POD_NAMESPACE: 'ingress', POD_NAME: 'portico-0' } });
  await portico.waitReady();
});

after(async () => {
  await stopEverything(pods);
});

describe('nginx_ingress_controller_requests and its histograms', () => {
  test('counted by Ingress path (never the request path), status, method, Service and host, with the controller labels', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await httpGet(portico.httpPort, { host: 'shop.test', path: `/api/items/${i}?q=${i}` })).status, 200);
    assert.equal((await httpGet(portico.httpPort, { host: 'shop.test', path: '/api/missing-status/x', method: 'POST', body: 'x' })).status, 200);
    const labels = { ingress: 'shop', namespace: 'default', service: 'shop', path: '/api', host: 'shop.test', canary: '', controller_namespace: 'ingress', controller_pod: 'portico-0' };
    let text = '';
    // The series come from the access log, read as HAProxy writes it: wait until the last request's line is in.
    await waitFor(async () => {
      text = await scrape();
      return total(text, 'nginx_ingress_controller_requests', { ...labels, method: 'POST', status: '200' }) >= 1;
    });
    assert.equal(total(text, 'nginx_ingress_controller_requests', { ...labels, method: 'GET', status: '200' }), 5);
    assert.equal(total(text, 'nginx_ingress_controller_requests', { ...labels, method: 'POST', status: '200' }), 1);
    assert.equal(total(text, 'nginx_ingress_controller_request_duration_seconds_count', { ...labels, method: 'GET' }), 5);
    assert.equal(total(text, 'nginx_ingress_controller_request_size_count', { ...labels, method: 'POST' }), 1);
    assert.ok(total(text, 'nginx_ingress_controller_request_size_sum', { ...labels, method: 'POST' }) > 0);
    assert.equal(total(text, 'nginx_ingress_controller_response_duration_seconds_count', { ...labels, method: 'GET' }), 5);
    assert.equal(total(text, 'portico_http_requests_total', { ingress: 'shop', path: '/api', status: '200', method: 'GET' }), 5);
    assert.equal(total(text, 'nginx_ingress_controller_requests', { path: '/api/items/1' }), 0, 'a request path became a label');
  });

  test("the canary label names the canary's upstream only on what the canary served", async () => {
    assert.equal((await httpGet(portico.httpPort, { host: 'shop.test', path: '/api/c', headers: { 'x-canary': 'always' } })).json<{ pod: string }>().pod, 'shop-canary-1');
    let text = '';
    await waitFor(async () => {
      text = await scrape();
      return total(text, 'nginx_ingress_controller_requests', { ingress: 'shop', canary: 'default-shop-canary-80' }) === 1;
    });
    assert.equal(total(text, 'nginx_ingress_controller_requests', { ingress: 'shop', canary: '', method: 'GET', status: '200' }), 5);
  });

  test('labels stay bounded: a request no route serves is not counted, an unknown method is OTHER', async () => {
    const before = await scrape();
    const series = seriesOf(before, 'nginx_ingress_controller_requests');
    for (let i = 0; i < 20; i++) assert.equal((await httpGet(portico.httpPort, { host: `random-${i}.test`, path: `/x${i}` })).status, 404);
    assert.equal((await httpGet(portico.httpPort, { host: 'shop.test', path: '/api/m', method: 'PROPFIND' })).status, 200);
    let text = '';
    await waitFor(async () => {
      text = await scrape();
      return total(text, 'nginx_ingress_controller_requests', { ingress: 'shop', method: 'OTHER' }) === 1;
    });
    assert.equal(seriesOf(text, 'nginx_ingress_controller_requests'), series + 1, 'unrouted requests made series');
    assert.equal(total(text, 'nginx_ingress_controller_requests', { method: 'PROPFIND' }), 0);
  });

  test("the access log's line names the Ingress and the rule the same matcher found", async () => {
    await httpGet(portico.httpPort, { host: 'shop.test', path: '/api/logged', headers: { 'user-agent': 'traffic-metrics-test' } });
    let line: Record<string, unknown> | undefined;
    await waitFor(() => {
      line = portico.logs.entries.find((e) => e.path === '/api/logged');
      return Promise.resolve(line !== undefined);
    });
    assert.equal(line!.namespace, 'default');
    assert.equal(line!.ingress, 'shop');
    assert.equal(line!.rule, 'shop.test/api');
    assert.equal(line!.service, 'default/shop:80');
  });
});
