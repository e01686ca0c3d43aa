// Live changes to manifest files: add, edit, rename, delete; a malformed file and an invalid object stay isolated;
// hostile strings never reach HAProxy; a WebSocket opened before a reload keeps working after it; a pod added at
// runtime gets its connections reused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rename } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { docs, endpointSlice, httpGet, httpGetVia, ingress, manifestDir, reloadCount, removeManifest, service, startEcho, startPortico, waitFor, websocket, writeManifest, stopEverything } from './harness/index.js';
import type { Echo } from './harness/index.js';
import { cliCommand } from '../../src/haproxy/process/master-cli.js';

const pods: Echo[] = [];
let dir = '';
let portico: Awaited<ReturnType<typeof startPortico>>;

async function podFor(host: string, path = '/'): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

/** Waits until a request gives the expected answer: the file change has gone live. */
async function eventually(host: string, want: string, path = '/'): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = await podFor(host, path);
      return last === want;
    },
    { timeoutMs: 3000, intervalMs: 25, message: `${host}${path} never answered ${want}` },
  );
}

const site = (name: string, host: string, svc: string) =>
  ingress({ name, rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });

before(async () => {
  dir = await manifestDir();
  const apps: string[] = [];
  for (const [i, n] of ['blue', 'green', 'ws'].entries()) {
    const ip = `127.0.50.${i + 1}`;
    pods.push(await startEcho({ pod: n, ip, port: 3000 }));
    apps.push(service({ name: n, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${n}-1`, service: n, ports: [{ port: 3000 }], endpoints: [{ ip }] }));
  }
  await writeManifest(dir, 'apps.yaml', docs(...apps));
  await writeManifest(dir, 'stable.yaml', site('stable', 'stable.test', 'blue'));
  await writeManifest(dir, 'ws.yaml', site('ws', 'ws.test', 'ws'));
  portico = await startPortico({ manifests: [dir], args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('file changes go live without a restart', () => {
  test('a new file adds routes', async () => {
    await writeManifest(dir, 'app.yaml', site('app', 'app.test', 'blue'));
    await eventually('app.test', 'blue');
  });
  test('editing a file changes routes', async () => {
    await writeManifest(dir, 'app.yaml', site('app', 'app.test', 'green'));
    await eventually('app.test', 'green');
  });
  test('a file in a new subdirectory is read', async () => {
    await writeManifest(dir, 'team-a/nested.yaml', site('nested', 'nested.test', 'blue'));
    await eventually('nested.test', 'blue');
  });
  test('renaming a file keeps its objects', async () => {
    await rename(join(dir, 'app.yaml'), join(dir, 'renamed.yaml'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await podFor('app.test'), 'green');
  });
  test('deleting a file removes its routes', async () => {
    await removeManifest(dir, 'renamed.yaml');
    await eventually('app.test', 'HTTP 404');
    assert.equal(await podFor('stable.test'), 'blue');
  });
});

describe('bad input is isolated', () => {
  test('a malformed file is reported with its position and keeps its previous objects', async () => {
    await writeManifest(dir, 'fragile.yaml', site('fragile', 'fragile.test', 'blue'));
    await eventually('fragile.test', 'blue');
    await writeManifest(dir, 'fragile.yaml', 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: fragile\n   bad-indent: [\n');
    const line = await portico.waitForLog((l) => l.rule === 'manifest-syntax' && String(l.file).endsWith('fragile.yaml'), 3000);
    assert.equal(typeof line.line, 'number');
    assert.equal(line.level, 50);
    // Another change elsewhere forces a new configuration: the broken file's old objects must survive it.
    await writeManifest(dir, 'other.yaml', site('other', 'other.test', 'green'));
    await eventually('other.test', 'green');
    assert.equal(await podFor('fragile.test'), 'blue');
  });
  test('a document without kind, or a scalar document, rejects the file the same way', async () => {
    await writeManifest(dir, 'nokind.yaml', 'apiVersion: v1\nmetadata: { name: x }\n');
    await portico.waitForLog((l) => l.rule === 'manifest-syntax' && String(l.file).endsWith('nokind.yaml') && String(l.msg).includes('no kind'), 3000);
    await writeManifest(dir, 'scalar.json', '"just a string"');
    await portico.waitForLog((l) => l.rule === 'manifest-syntax' && String(l.file).endsWith('scalar.json'), 3000);
  });
  test('an invalid Ingress is left out with one log line naming object, field and rule; the others keep serving', async () => {
    await writeManifest(
      dir,
      'invalid.yaml',
      docs(
        ingress({ name: 'bad-host', rules: [{ host: 'Bad_Host.test', paths: [{ path: '/', pathType: 'Prefix', service: 'blue', port: 80 }] }] }),
        site('good-neighbour', 'neighbour.test', 'green'),
      ),
    );
    await eventually('neighbour.test', 'green');
    const line = await portico.waitForLog((l) => l.object === 'Ingress default/bad-host', 3000);
    assert.equal(line.field, 'spec.rules[0].host');
    assert.equal(line.rule, 'V7');
    assert.equal(await podFor('stable.test'), 'blue');
  });
});

describe('hostile input (no injection into HAProxy configuration)', () => {
  const hostile = [
    'evil.test\n  use_backend be_default_blue_80',
    'evil.test" # comment',
    'evil .test',
    '%[req.hdr(host)]',
    `${'a'.repeat(300)}.test`,
  ];
  test('hostile hosts, paths, annotations and names are rejected (paths: or percent-encoded); configuration and traffic are unaffected', async () => {
    const before = await readFile(join(portico.stateDir, 'haproxy.cfg'), 'utf8');
    const objs: string[] = [];
    hostile.forEach((h, i) => {
      objs.push(ingress({ name: `hostile-host-${i}`, rules: [{ host: h, paths: [{ path: '/', pathType: 'Prefix', service: 'blue', port: 80 }] }] }));
      objs.push(ingress({ name: `hostile-path-${i}`, rules: [{ host: `hostile${i}.test`, paths: [{ path: `/x${h}`, pathType: 'ImplementationSpecific', service: 'blue', port: 80 }] }] }));
      objs.push(ingress({ name: `hostile-svc-${i}`, rules: [{ host: `hostilesvc${i}.test`, paths: [{ path: '/', pathType: 'Prefix', service: h, port: 80 }] }] }));
    });
    objs.push(ingress({ name: 'hostile-annotation', annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false\n  bind :1' }, rules: [{ host: 'annot.test', paths: [{ path: '/', pathType: 'Prefix', service: 'blue', port: 80 }] }] }));
    objs.push(ingress({ name: 'hostile-path-huge', rules: [{ host: 'huge.test', paths: [{ path: `/${'x'.repeat(100_000)}`, pathType: 'Prefix', service: 'blue', port: 80 }] }] }));
    objs.push(`apiVersion: v1\nkind: Service\nmetadata: { name: "use_backend x", namespace: default }\nspec: { type: ExternalName, externalName: "evil\\n  server x 127.0.0.1:10254" }\n`);
    objs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: hostile-eps, namespace: default, labels: { kubernetes.io/service-name: blue } }\naddressType: IPv4\nports: [{ port: 3000 }]\nendpoints: [{ addresses: ["127.0.50.1:1 check\\n  server y 10.0.0.1:80"] }]\n`);
    objs.push(ingress({ name: 'semicolon', rules: [{ host: 'semi.test', paths: [{ path: '/semi;colon', pathType: 'Prefix', service: 'blue', port: 80 }] }] }));
    objs.push(site('marker', 'marker.test', 'blue'));
    await writeManifest(dir, 'hostile.yaml', docs(...objs));
    await eventually('marker.test', 'blue');
    const after = await readFile(join(portico.stateDir, 'haproxy.cfg'), 'utf8');
    for (const text of [after]) {
      assert.doesNotMatch(text, /evil|use_backend be_default_blue_80|\/x%\[|bind :1|10\.0\.0\.1|127\.0\.0\.1:10254/);
    }
    // What HAProxy holds now, runtime edits included: read the live maps back through its runtime API.
    const generations = (await readdir(join(portico.stateDir, 'gen'))).map(Number).sort((a, b) => b - a);
    const liveDir = join(portico.stateDir, 'gen', String(generations[0]));
    for (const m of await readdir(join(liveDir, 'maps'))) {
      const shown = await cliCommand(join(portico.stateDir, 'haproxy.sock'), `show map ${join(liveDir, 'maps', m)}`);
      // Hostile paths are either refused (the "%[" fetch, the huge one) or held percent-encoded (rule path-canonical).
      assert.doesNotMatch(shown, /%\[|xxxxxxxxxx|evil\.test"|evil \.test|\n {2}use_backend/, `${m} must hold no hostile string`);
      if (m === 'paths.map') assert.match(shown, /\/xevil\.test%0A%20%20use_backend%20be_default_blue_80\//, 'a newline path is held percent-encoded');
      for (const l of shown.split('\n').filter(Boolean)) assert.equal(l.split(' ').length, 3, `map entry ${JSON.stringify(l)} must be one key and one value`);
    }
    assert.equal(await podFor('semi.test', '/semi;colon/x'), 'blue', 'a path with ";" reached HAProxy intact through the runtime API');
    assert.equal(await podFor('semi.test', '/semi'), 'HTTP 404');
    assert.equal(before, after, 'hostile objects change nothing in the configuration text');
    assert.equal(await podFor('stable.test'), 'blue');
    assert.equal(await podFor('annot.test'), 'blue', 'a bad annotation value is ignored, not fatal');
    for (const i of [0, 1, 2, 3]) assert.equal(await podFor(`hostile${i}.test`), 'HTTP 404', `hostile path ${i}`);
    await portico.waitForLog((l) => l.object === 'Ingress default/hostile-path-huge' && l.rule === 'path-length', 1000);
  });
});

describe('long-lived connections', () => {
  test('a WebSocket opened before a reload still works after it (X12)', async () => {
    const ws = await websocket(`ws://127.0.0.1:${portico.httpPort}/socket`, { host: 'ws.test' });
    try {
      ws.send('before');
      assert.equal(await ws.next(), 'ws:before');
      const reloads = async (): Promise<number> => Number(/^portico_haproxy_reloads_total (\d+)$/m.exec((await httpGet(portico.adminPort, { path: '/metrics' })).body)?.[1]);
      const before = await reloads();
      // An ExternalName Service is part of the configuration text: unlike routes, endpoints and plain Services, it reloads.
      const trigger = ingress({ name: 'reload-trigger', rules: [{ host: 'trigger.test', paths: [{ path: '/', pathType: 'Prefix', service: 'blue', port: 80 }, { path: '/ext', pathType: 'Prefix', service: 'trigger', port: 80 }] }] });
      await writeManifest(dir, 'reload-trigger.yaml', docs(service({ name: 'trigger', type: 'ExternalName', externalName: 'trigger.invalid', ports: [{ port: 80 }] }), trigger));
      await eventually('trigger.test', 'blue');
      await waitFor(async () => (await reloads()) > before, { timeoutMs: 3000, message: 'HAProxy was not reloaded' });
      ws.send('after');
      assert.equal(await ws.next(), 'ws:after');
    } finally {
      ws.close();
    }
  });
});

describe('hitless reloads', () => {
  test('requests on kept-alive and on new connections all succeed while five changes go live', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const one = (agent: Agent | false): Promise<void> =>
      new Promise((resolveOne) => {
        const req = request({ host: '127.0.0.1', port: portico.httpPort, path: '/', headers: { host: 'stable.test' }, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else failures.push(`HTTP ${res.statusCode}`);
            resolveOne();
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          failures.push(e.code ?? e.message);
          resolveOne();
        });
        req.end();
      });
    const worker = async (agent: Agent | false): Promise<void> => {
      while (running) await one(agent);
    };
    const load = Promise.all([...Array.from({ length: 6 }, () => worker(keepAlive)), ...Array.from({ length: 3 }, () => worker(false))]);
    try {
      for (let i = 0; i < 5; i++) {
        // Each step adds an ExternalName Service, whose DNS name is part of the configuration: each one is a real
        // reload (everything else goes through the runtime API).
        const route = ingress({ name: 'churn', rules: [{ host: `churn${i}.test`, paths: [{ path: '/', pathType: 'Prefix', service: 'green', port: 80 }, { path: '/ext', pathType: 'Prefix', service: `ext${i}`, port: 80 }] }] });
        await writeManifest(dir, 'churn.yaml', docs(service({ name: `ext${i}`, type: 'ExternalName', externalName: `ext${i}.invalid`, ports: [{ port: 80 }] }), route));
        await eventually(`churn${i}.test`, 'green');
      }
    } finally {
      running = false;
      await load;
      keepAlive.destroy();
    }
    assert.deepEqual(failures, [], `${failures.length} failed requests out of ${ok + failures.length}`);
    assert.ok(ok > 100, `only ${ok} requests were sent`);
    // Traffic can reach the new worker a few milliseconds before Portico has confirmed the reload and counted it.
    let reloads = 0;
    await waitFor(
      async () => {
        reloads = Number(/^portico_haproxy_reloads_total (\d+)$/m.exec((await httpGet(portico.adminPort, { path: '/metrics' })).body)?.[1]);
        return reloads >= 5;
      },
      { timeoutMs: 3000, message: () => `the changes were not real reloads (reloads: ${reloads})` },
    );
  });
});

describe('connections to pods', () => {
  test('a pod added at runtime gets its connections reused, as one in the configuration does', async () => {
    // HAProxy 2.6.12 gives a server `add server` brings no idle-connection pool (pool-max-conn 0) unless told:
    // every request to a pod scaled up, or to a Service bound to a spare, would open a connection of its own.
    const late = await startEcho({ pod: 'late', ip: '127.0.50.9', port: 3000 });
    pods.push(late);
    // Reloads of earlier tests may still be counted: start once the count has held for 300 ms.
    let reloads = -1;
    await waitFor(async () => {
      const now = await reloadCount(portico.adminPort);
      const settled = now === reloads;
      reloads = now;
      return settled;
    }, { timeoutMs: 10_000, intervalMs: 300, message: 'reloads never settled' });
    await writeManifest(dir, 'late.yaml', docs(service({ name: 'late', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'late-1', service: 'late', ports: [{ port: 3000 }], endpoints: [{ ip: late.ip }] }), site('late', 'late.test', 'late')));
    await eventually('late.test', 'late');
    assert.equal(await reloadCount(portico.adminPort), reloads, 'the new Service went live at runtime');
    /** Backend connections `pod` accepted for 10 requests over one client connection. */
    const opened = async (host: string, pod: Echo): Promise<number> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const before = pod.connections;
      for (let i = 0; i < 10; i++) assert.equal((await httpGetVia(agent, portico.httpPort, { host })).status, 200);
      agent.destroy();
      return pod.connections - before;
    };
    const configured = await opened('stable.test', pods[0]!);
    const added = await opened('late.test', late);
    assert.ok(configured <= 2, `${configured} connections to the configured pod`);
    assert.ok(added <= 2, `${added} connections for 10 requests to the pod added at runtime`);
  });
});
