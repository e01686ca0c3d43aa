// WebSocket through every annotation family that can sit in front of one (issue 11, section 4): for each, an
// Ingress of its own host carries the family's annotations, and a WebSocket opened through Portico reaches the echo
// pod and carries messages both ways. A family that broke the upgrade (a rule that answers, buffers or rewrites the
// wrong request) fails here with the status the client got instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { docs, ingress, manifestDir, singlePodApp, startPortico, stopEverything, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let portico: Portico;

const USER = execFileSync('htpasswd', ['-nb', '-m', 'ws', 'ws-secret'], { encoding: 'utf8' }).trim();
const BASIC = `Basic ${Buffer.from('ws:ws-secret').toString('base64')}`;

/** family -> the annotations of its Ingress (and the path it is written for, `/` unless said). */
const FAMILIES: Record<string, { annotations: Record<string, string>; path?: string; headers?: Record<string, string> }> = {
  'access-list': { annotations: { 'allowlist-source-range': '127.0.0.0/8', 'denylist-source-range': '10.0.0.0/8' } },
  'rate-limit': { annotations: { 'limit-rps': '100', 'limit-connections': '10' } },
  'basic-auth': { annotations: { 'auth-type': 'basic', 'auth-secret': 'ws-users' }, headers: { authorization: BASIC } },
  cors: { annotations: { 'enable-cors': 'true' }, headers: { origin: 'https://app.example' } },
  timeouts: { annotations: { 'proxy-read-timeout': '30', 'proxy-send-timeout': '30' } },
  'body-size': { annotations: { 'proxy-body-size': '1k' } },
  'upstream-vhost': { annotations: { 'upstream-vhost': 'backend.internal' } },
  rewrite: { annotations: { 'rewrite-target': '/$1' }, path: '/x/(.*)' },
  snippet: { annotations: { 'configuration-snippet': 'more_set_input_headers "X-From: snippet";\nmore_set_headers "X-Snippet: yes";' } },
  affinity: { annotations: { affinity: 'cookie' } },
  'buffers (accepted)': { annotations: { 'proxy-buffering': 'on', 'proxy-request-buffering': 'on' } },
  'affinity persistent': { annotations: { affinity: 'cookie', 'affinity-mode': 'persistent', 'session-cookie-change-on-failure': 'true' } },
  'connection-proxy-header close': { annotations: { 'connection-proxy-header': 'close' } },
  'custom-headers': { annotations: { 'custom-headers': 'ws-headers' } },
  'response rewrites': { annotations: { 'proxy-redirect-from': 'http://internal/', 'proxy-redirect-to': 'https://ws.example/', 'proxy-cookie-path': '/ /ws' } },
  mirror: { annotations: { 'mirror-target': 'http://127.0.242.1:3000/mirror$request_uri' } },
  'ssl-ciphers': { annotations: { 'ssl-ciphers': 'HIGH:!aNULL' } },
};

const hostOf = (family: string): string => `${family.replace(/[^a-z]+/g, '-').replace(/-$/, '')}.ws.test`;

before(async () => {
  const dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', await singlePodApp(pods, 'wsp', '127.0.242.1'));
  await writeManifest(
    dir,
    'secret.yaml',
    `apiVersion: v1\nkind: Secret\nmetadata: {name: ws-users, namespace: default}\nstringData: {auth: "${USER}\\n"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ws-headers, namespace: default}\ndata: {X-Custom: "yes"}\n`,
  );
  await writeManifest(
    dir,
    'routes.yaml',
    docs(
      ...Object.entries(FAMILIES).map(([family, f], i) =>
        ingress({
          name: `ws-${i}`,
          annotations: Object.fromEntries(Object.entries(f.annotations).map(([k, v]) => [P + k, v])),
          rules: [{ host: hostOf(family), paths: [{ path: f.path ?? '/', pathType: f.path ? 'ImplementationSpecific' : 'Prefix', service: 'wsp', port: 80 }] }],
        }),
      ),
    ),
  );
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

/** A WebSocket through Portico's HTTP listener, or the status of the answer that refused the upgrade. */
function open(host: string, path: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${portico.httpPort}${path}`, { headers: { host, ...headers } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('WebSocket through each annotation family', () => {
  for (const [family, f] of Object.entries(FAMILIES)) {
    test(family, async () => {
      const ws = await open(hostOf(family), f.path ? '/x/ws' : '/ws', f.headers);
      assert.ok(ws instanceof WebSocket, `the upgrade was answered with ${typeof ws === 'number' ? ws : 'a socket'}`);
      try {
        for (const message of ['hello', 'again']) {
          const reply = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
          ws.send(message);
          assert.equal(await reply, `wsp:${message}`);
        }
      } finally {
        ws.close();
      }
    });
  }

  test('and the families that refuse still refuse the upgrade', async () => {
    assert.equal(await open(hostOf('basic-auth'), '/ws'), 401);
  });
});
