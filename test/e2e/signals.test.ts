// Signals and orphans: no HAProxy outlives Portico, not even one killed with SIGKILL; a traffic port someone else
// holds fails the start instead of being shared; SIGHUP reads the sources again and Portico keeps running.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { accepts, docs, freePort, httpGet, ingress, manifestDir, oneAppDir, service, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
const strangers: ChildProcess[] = [];
after(async () => {
  for (const s of strangers) s.kill('SIGKILL');
  await stopEverything(pods);
});

const appDir = (): Promise<string> => oneAppDir(pods, { name: 'app', podPrefix: 'sig', subnet: '127.0.173' });

/** True when nothing listens on the port any more: binding it (every address, no SO_REUSEPORT) succeeds. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '0.0.0.0', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function alive(pid: number): Promise<boolean> {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return st !== '' && !/^\d+ \(.*\) Z/.test(st);
}

describe('no HAProxy outlives Portico', () => {
  test('Portico killed with SIGKILL takes HAProxy with it: the ports are free within seconds', async () => {
    const dir = await appDir();
    const p = await startPortico({ manifests: [dir], args: ['--reload-interval', '0'] });
    await p.waitReady();
    // A reload first (an ExternalName Service needs one): the parent-death signal must survive the master's re-exec.
    await writeManifest(dir, 'ext.yaml', docs(service({ name: 'ext', type: 'ExternalName', externalName: 'ext.invalid', ports: [{ port: 80 }] }), ingress({ name: 'ext', rules: [{ host: 'ext.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ext', port: 80 }] }] })));
    await waitFor(async () => /^portico_haproxy_reloads_total 1$/m.test((await httpGet(p.adminPort, { path: '/metrics' })).body), { timeoutMs: 5000, message: 'no reload happened' });
    const master = Number((await readFile(join(p.stateDir, 'haproxy.pid'), 'utf8')).trim());
    p.proc.kill('SIGKILL');
    await waitFor(async () => (await portFree(p.httpPort)) && (await portFree(p.httpsPort)), { timeoutMs: 5000, intervalMs: 50, message: 'HAProxy still holds the ports after Portico was killed' });
    await waitFor(async () => !(await alive(master)), { timeoutMs: 2000, message: 'the HAProxy master outlived Portico' });
  });
});

describe('a traffic port someone else holds', () => {
  test('fails the start with a clear message; the port is never shared', async () => {
    const port = await freePort('0.0.0.0');
    const dir = await manifestDir();
    // Another HAProxy on the port, with HAProxy's default SO_REUSEPORT: what an orphan left by a killed Portico is.
    const cfg = join(dir, 'stranger.cfg');
    await writeFile(cfg, `defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend stranger\n  bind :${port}\n  http-request return status 200 content-type text/plain string "stranger\\n"\n`);
    const stranger = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    strangers.push(stranger);
    await waitFor(() => accepts(port), { timeoutMs: 5000, message: 'the stranger HAProxy did not start' });
    const p = await startPortico({ manifests: [await appDir()], httpPort: port });
    await waitFor(() => Promise.resolve(p.exit !== null), { timeoutMs: 15_000, intervalMs: 50, message: 'Portico started on a port another process holds' });
    assert.equal(p.exit?.code, 1);
    const text = p.logs.lines.join('\n');
    assert.match(text, new RegExp(`--http-port ${port}: cannot listen on 0\\.0\\.0\\.0:${port}: the address is already in use`));
    const r = await httpGet(port, { host: 'app.test', path: '/' });
    assert.equal(r.body, 'stranger\n', 'the port still belongs to the other process alone');
  });
});

describe('SIGHUP', () => {
  test('re-reads every manifest file, reports what is still wrong again, and Portico keeps serving', async () => {
    const dir = await appDir();
    await writeManifest(dir, 'broken.yaml', 'kind: Service\nmetadata: {name: x\n');
    const p: Portico = await startPortico({ manifests: [dir] });
    await p.waitReady();
    const malformed = (): number => p.logs.entries.filter((l) => l.rule === 'manifest-syntax').length;
    await waitFor(() => Promise.resolve(malformed() === 1), { timeoutMs: 3000, message: 'the malformed file was not reported' });
    p.proc.kill('SIGHUP');
    await p.waitForLog((l) => String(l.msg) === 'SIGHUP: read 2 manifest files again', 5000);
    assert.equal(p.exit, null, 'Portico is still running');
    assert.equal(malformed(), 2, 'the malformed file was read, and reported, again');
    assert.equal((await httpGet(p.httpPort, { host: 'app.test', path: '/' })).status, 200);
    p.proc.kill('SIGHUP');
    await waitFor(() => Promise.resolve(malformed() === 3), { timeoutMs: 5000, message: 'a second SIGHUP was not handled' });
    assert.equal(p.exit, null);
    assert.deepEqual(await p.stop('SIGTERM'), { code: 0, signal: null });
  });
});
