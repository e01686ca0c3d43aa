// /readyz tells the truth: 503 before the first configuration is live, while HAProxy is down or not accepting
// connections, and during the shutdown grace period; 200 only while HAProxy takes traffic. A failed restart of a
// dead HAProxy is logged with its cause and counted.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpGet, manifestDir, oneAppDir, requestsArrived, startPortico, stopEverything, waitFor } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
after(() => stopEverything(pods));

const appDir = (): Promise<string> => oneAppDir(pods, { name: 'app', podPrefix: 'ready', subnet: '127.0.171' });

/** /readyz's status and body; 0 when the admin port does not answer (yet). */
async function readyz(p: Portico): Promise<{ status: number; body: string }> {
  return httpGet(p.adminPort, { path: '/readyz', timeoutMs: 2000 }).then(
    (r) => ({ status: r.status, body: r.body }),
    () => ({ status: 0, body: '' }),
  );
}

async function waitForReadyz(p: Portico, status: number, timeoutMs: number): Promise<string> {
  let last = { status: 0, body: '' };
  await waitFor(
    async () => {
      last = await readyz(p);
      return last.status === status;
    },
    { timeoutMs, intervalMs: 20, message: () => `/readyz never answered ${status} (last: ${last.status} ${last.body.trim()})` },
  );
  return last.body;
}

async function appStatus(p: Portico): Promise<number> {
  return httpGet(p.httpPort, { host: 'app.test', path: '/', timeoutMs: 3000 }).then(
    (r) => r.status,
    () => 0,
  );
}

async function metric(p: Portico, name: string): Promise<number> {
  const text = (await httpGet(p.adminPort, { path: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

async function masterPid(p: Portico): Promise<number> {
  return Number((await readFile(join(p.stateDir, 'haproxy.pid'), 'utf8')).trim());
}

/** A stand-in for the haproxy binary that runs the real one, except while a marker file says otherwise. */
async function haproxyWrapper(script: string): Promise<string> {
  const dir = await manifestDir();
  const path = join(dir, 'haproxy-wrapper.sh');
  await writeFile(path, `#!/bin/sh\n${script}\nexec haproxy "$@"\n`, { mode: 0o755 });
  return path;
}

describe('/readyz before the first configuration is live', () => {
  test('is 503 while HAProxy is still starting, and 200 once it serves', async () => {
    const hold = join(await manifestDir(), 'hold');
    await writeFile(hold, '');
    // HAProxy's start (not `haproxy -c`) waits while the marker exists: the admin port is up, nothing is live.
    const wrapper = await haproxyWrapper(`if [ "$1" = "-W" ]; then while [ -e ${hold} ]; do sleep 0.05; done; fi`);
    const p = await startPortico({ manifests: [await appDir()], args: ['--haproxy-bin', wrapper] });
    const body = await waitForReadyz(p, 503, 10_000);
    assert.match(body, /no configuration is live yet/);
    assert.equal((await readyz(p)).status, 503, 'still not ready while HAProxy is held');
    await rm(hold);
    await p.waitReady();
    assert.equal(await appStatus(p), 200, 'ready means traffic flows');
  });
});

describe('/readyz during the shutdown grace period', () => {
  test('is 503 from SIGTERM on, while the in-flight request finishes', async () => {
    const p = await startPortico({ manifests: [await appDir()], args: ['--shutdown-grace-period', '20'] });
    await p.waitReady();
    const arrived = requestsArrived(pods);
    const inFlight = httpGet(p.httpPort, { host: 'app.test', path: '/slow?ms=2500' });
    await waitFor(() => Promise.resolve(requestsArrived(pods) > arrived), { timeoutMs: 3000, message: 'the request never reached the pod' });
    const exit = p.stop('SIGTERM');
    const body = await waitForReadyz(p, 503, 3000);
    assert.match(body, /shutting down/);
    assert.equal((await inFlight).status, 200, 'the in-flight request completed');
    assert.deepEqual(await exit, { code: 0, signal: null });
  });
});

describe('/readyz during the drain delay', () => {
  test('503 from the signal on while HAProxy still accepts and serves new connections; a second SIGTERM ends the wait', async () => {
    const p = await startPortico({ manifests: [await appDir()], args: ['--shutdown-drain-delay', '60'] });
    await p.waitReady();
    p.proc.kill('SIGTERM');
    const body = await waitForReadyz(p, 503, 3000);
    assert.match(body, /shutting down \(draining: HAProxy still serves for up to 60 s/);
    await p.waitForLog((l) => String(l.msg).startsWith('SIGTERM: /readyz answers 503 and HAProxy keeps serving for 60 s'), 3000);
    await new Promise((r) => setTimeout(r, 1200)); // past a health check of the supervisor's: HAProxy is still supervised
    assert.equal(await appStatus(p), 200, 'a new connection is still served during the drain');
    assert.equal(p.exit, null);
    const second = Date.now();
    const exit = p.stop('SIGTERM');
    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.ok(Date.now() - second < 10_000, 'the second signal ended the 60 s wait');
    assert.ok(p.logs.entries.some((l) => l.msg === 'SIGTERM again: ending the drain delay now'));
    assert.ok(p.logs.entries.some((l) => String(l.msg).startsWith('shutting down: no new connections')), 'then the usual graceful stop');
  });

  test('a Portico that was not ready when the signal came does not wait: no load balancer sends it anything', async () => {
    const hold = join(await manifestDir(), 'hold');
    await writeFile(hold, '');
    const wrapper = await haproxyWrapper(`if [ "$1" = "-W" ]; then while [ -e ${hold} ]; do sleep 0.05; done; fi`);
    const p = await startPortico({ manifests: [await appDir()], args: ['--haproxy-bin', wrapper, '--shutdown-drain-delay', '60'] });
    await waitForReadyz(p, 503, 10_000);
    const started = Date.now();
    const exit = p.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await rm(hold, { force: true }); // HAProxy's start, held until now, may finish: Portico stops it again
    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.ok(Date.now() - started < 15_000, 'no 60 s drain');
    assert.ok(!p.logs.entries.some((l) => String(l.msg).includes('keeps serving for 60 s')), 'the drain was skipped');
  });
});

describe('/readyz while HAProxy is down', () => {
  test('a killed HAProxy that cannot be restarted: 503, each failed restart logged with its cause and counted; 200 once it is back', async () => {
    const refuse = join(await manifestDir(), 'refuse');
    const wrapper = await haproxyWrapper(`if [ "$1" = "-W" ] && [ -e ${refuse} ]; then echo "[ALERT] (test) refusing to start while ${refuse} exists" >&2; exit 1; fi`);
    const p = await startPortico({ manifests: [await appDir()], args: ['--haproxy-bin', wrapper] });
    await p.waitReady();
    await writeFile(refuse, '');
    process.kill(await masterPid(p), 'SIGKILL');
    const body = await waitForReadyz(p, 503, 5000);
    assert.match(body, /exited unexpectedly/, 'the body says why');
    const failed = await p.waitForLog((l) => l.msg === 'HAProxy restart failed; retrying', 10_000);
    assert.match(String(failed.err), /refusing to start while/, 'the log carries HAProxy’s own reason');
    await waitFor(async () => (await metric(p, 'portico_haproxy_restart_failures_total')) >= 2, { timeoutMs: 10_000, message: 'failed restarts are counted' });
    assert.equal(await metric(p, 'portico_haproxy_up'), 0);
    assert.equal(await appStatus(p), 0, 'nothing accepts connections');
    assert.equal((await readyz(p)).status, 503, 'still 503 while the restarts fail');
    await rm(refuse);
    await waitForReadyz(p, 200, 10_000);
    assert.equal(await appStatus(p), 200, 'HAProxy serves again');
    assert.equal(await metric(p, 'portico_haproxy_up'), 1);
    assert.equal(await metric(p, 'portico_haproxy_restarts_total'), 1);
    await p.waitForLog((l) => String(l.msg).startsWith('HAProxy is serving again'), 3000);
  });

  test('listeners that stop accepting (HAProxy paused with SIGTTOU) turn /readyz 503 within seconds; resumed, 200 again', async () => {
    const p = await startPortico({ manifests: [await appDir()] });
    await p.waitReady();
    const master = await masterPid(p);
    process.kill(master, 'SIGTTOU');
    const body = await waitForReadyz(p, 503, 6000);
    assert.match(body, /does not accept connections on 127\.0\.0\.1:\d+/);
    assert.equal(await appStatus(p), 0, 'connections are indeed refused');
    process.kill(master, 'SIGTTIN');
    await waitForReadyz(p, 200, 6000);
    assert.equal(await appStatus(p), 200);
  });
});
