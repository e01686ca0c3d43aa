// Keeps the README's demo true: examples/ served by Portico with the demo's echo pods.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGet, httpsGet, startPortico, stopAll, waitFor } from './harness/index.js';
import type { Portico } from './harness/index.js';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
let pods: ChildProcess | undefined;
let portico: Portico;

before(async () => {
  // The same pod list as scripts/demo.sh.
  pods = spawn(process.execPath, [join(repo, 'examples/echo-pods.mjs'), '127.0.1.1:3000=web-1', '127.0.1.2:3000=web-2', '127.0.1.3:3000=web-3', '127.0.2.1:3000=api-1'], { stdio: 'ignore' });
  portico = await startPortico({ manifests: [join(repo, 'examples')] });
  await portico.waitReady();
  await waitFor(async () => (await httpGet(portico.httpPort, { host: 'shop.example.com', path: '/api' })).status === 200, { timeoutMs: 5000, message: 'demo pods never answered' });
});

after(async () => {
  await stopAll();
  pods?.kill();
});

test('the demo routes by host and path, balances over three web pods, and 404s the rest', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await httpGet(portico.httpPort, { host: 'shop.example.com', path: '/' })).json<{ pod: string }>().pod);
  assert.deepEqual([...seen].sort(), ['web-1', 'web-2', 'web-3']);
  assert.equal((await httpGet(portico.httpPort, { host: 'shop.example.com', path: '/api/items' })).json<{ pod: string }>().pod, 'api-1');
  assert.equal((await httpGet(portico.httpPort, { host: 'pr-42.preview.example.com', path: '/' })).json<{ pod: string }>().pod, 'api-1');
  assert.equal((await httpGet(portico.httpPort, { host: 'secure.example.com', path: '/' })).status, 308);
  assert.equal((await httpsGet(portico.httpsPort, { servername: 'shop.example.com', host: 'shop.example.com', path: '/' })).status, 200);
  assert.equal((await httpGet(portico.httpPort, { path: '/' })).status, 404);
});
