// Process lifecycle: readiness, graceful shutdown with a request in flight, HAProxy restarted when it dies, and
// the command line (help, translate, flag errors).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docs, endpointSlice, httpGet, ingress, manifestDir, oneAppDir, requestsArrived, service, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo } from './harness/index.js';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
const pods: Echo[] = [];

after(() => stopEverything(pods));

function portico(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(repo, 'bin/portico'), ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const demoDir = (): Promise<string> => oneAppDir(pods, { name: 'slow', podPrefix: 'slow', subnet: '127.0.60' });

describe('readiness and health', () => {
  test('/healthz answers while alive; /readyz turns 200 once traffic is served', async () => {
    const p = await startPortico({ manifests: [await demoDir()] });
    await p.waitReady();
    assert.equal((await httpGet(p.adminPort, { path: '/healthz' })).status, 200);
    assert.equal((await httpGet(p.adminPort, { path: '/readyz' })).status, 200);
    assert.equal((await httpGet(p.httpPort, { host: 'slow.test', path: '/' })).status, 200, 'ready means traffic flows');
    await p.stop();
  });
});

async function metrics(p: { adminPort: number }): Promise<string> {
  const r = await httpGet(p.adminPort, { path: '/metrics' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  return r.body;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exported`);
  return Number(line.split(' ')[1]);
}

describe('metrics', () => {
  test('/metrics exports reloads, apply latency and Ingress counts, and they move with changes', async () => {
    const dir = await demoDir();
    const p = await startPortico({ manifests: [dir] });
    await p.waitReady();
    const before = await metrics(p);
    for (const name of ['portico_haproxy_reloads_total', 'portico_runtime_updates_total', 'portico_haproxy_restarts_total', 'portico_config_apply_duration_seconds_count'])
      assert.ok(before.includes(`# HELP ${name.replace(/_count$/, '')} `), `${name} has help text`);
    assert.equal(metric(before, 'portico_ingresses{state="valid"}'), 1);
    assert.equal(metric(before, 'portico_haproxy_reloads_total'), 0);
    await writeManifest(dir, 'bad.yaml', ingress({ name: 'bad', rules: [{ host: 'Bad.test', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] }));
    // A new route to an existing Service changes only map files: applied through the runtime API, no reload.
    await writeManifest(dir, 'more.yaml', ingress({ name: 'more', rules: [{ host: 'more.test', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] }));
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'more.test', path: '/' })).status === 200, { timeoutMs: 3000, message: 'more.test never served' });
    await waitFor(async () => metric(await metrics(p), 'portico_runtime_updates_total') >= 1, { timeoutMs: 2000, message: 'the runtime update was not counted' });
    const after = await metrics(p);
    assert.equal(metric(after, 'portico_haproxy_reloads_total'), 0, 'a route change needs no reload');
    assert.equal(metric(after, 'portico_ingresses{state="valid"}'), 2);
    assert.equal(metric(after, 'portico_ingresses{state="invalid"}'), 1);
    // A new Service is bound to a spare backend section at runtime: no reload either.
    await writeManifest(dir, 'svc.yaml', docs(service({ name: 'other', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'other-1', service: 'other', ports: [{ port: 3000 }], endpoints: [{ ip: pods[pods.length - 1]!.ip }] }), ingress({ name: 'other', rules: [{ host: 'other.test', paths: [{ path: '/', pathType: 'Prefix', service: 'other', port: 80 }] }] })));
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'other.test', path: '/' })).status === 200, { timeoutMs: 3000, message: 'other.test never served' });
    assert.equal(metric(await metrics(p), 'portico_haproxy_reloads_total'), 0, 'a new Service needs no reload');
    // An ExternalName Service is dialled by a DNS name written in the configuration: that one reloads.
    await writeManifest(dir, 'ext.yaml', docs(service({ name: 'ext', type: 'ExternalName', externalName: 'ext.invalid', ports: [{ port: 80 }] }), ingress({ name: 'ext', rules: [{ host: 'ext.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ext', port: 80 }] }] })));
    // Traffic can flow through the new worker a few milliseconds before Portico has confirmed the reload.
    await waitFor(async () => metric(await metrics(p), 'portico_haproxy_reloads_total') === 1, { timeoutMs: 3000, message: 'the reload was not counted' });
    assert.ok(metric(after, 'portico_config_apply_duration_seconds_count') > metric(before, 'portico_config_apply_duration_seconds_count'));
  });
});

describe('reloads', () => {
  const newService = (name: string, ip: string): string =>
    docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }), ingress({ name, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: name, port: 80 }] }] }));
  const external = (name: string): string =>
    docs(service({ name, type: 'ExternalName', externalName: `${name}.invalid`, ports: [{ port: 80 }] }), ingress({ name, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }, { path: '/ext', pathType: 'Prefix', service: name, port: 80 }] }] }));
  const served = async (port: number, host: string): Promise<boolean> => (await httpGet(port, { host, path: '/' })).status === 200;

  test('when the spare backend sections run out, one reload adds more, and everything stays served', async () => {
    const dir = await demoDir();
    const ip = pods[pods.length - 1]!.ip;
    const p = await startPortico({ manifests: [dir], args: ['--spare-backends', '1', '--reload-interval', '0'] });
    await p.waitReady();
    await writeManifest(dir, 'one.yaml', newService('one', ip));
    await waitFor(() => served(p.httpPort, 'one.test'), { timeoutMs: 3000, message: 'one.test never served' });
    assert.equal(metric(await metrics(p), 'portico_haproxy_reloads_total'), 0, 'the spare section took the first new Service');
    await writeManifest(dir, 'two.yaml', newService('two', ip));
    await waitFor(() => served(p.httpPort, 'two.test'), { timeoutMs: 3000, message: 'two.test never served' });
    await waitFor(async () => metric(await metrics(p), 'portico_haproxy_reloads_total') === 1, { timeoutMs: 3000, message: 'no reload was counted' });
    for (const host of ['slow.test', 'one.test', 'two.test']) assert.ok(await served(p.httpPort, host), `${host} still served`);
    await writeManifest(dir, 'three.yaml', newService('three', ip));
    await waitFor(() => served(p.httpPort, 'three.test'), { timeoutMs: 3000, message: 'three.test never served' });
    assert.equal(metric(await metrics(p), 'portico_haproxy_reloads_total'), 1, 'the reload provisioned new spare sections');
  });

  test('changes that need a reload within --reload-interval of the last one go live together in one reload', async () => {
    const dir = await demoDir();
    const p = await startPortico({ manifests: [dir], args: ['--reload-interval', '3'] });
    await p.waitReady();
    const started = Date.now();
    for (const name of ['ext-a', 'ext-b', 'ext-c']) {
      await writeManifest(dir, 'ext.yaml', external(name));
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor(() => served(p.httpPort, 'ext-c.test'), { timeoutMs: 6000, message: 'the last change never went live' });
    assert.ok(Date.now() - started >= 2000, 'the reload waited for the interval since the start');
    await waitFor(async () => metric(await metrics(p), 'portico_haproxy_reloads_total') >= 1, { timeoutMs: 3000, message: 'no reload was counted' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(metric(await metrics(p), 'portico_haproxy_reloads_total'), 1, 'three changes, one reload');
    assert.equal((await httpGet(p.httpPort, { host: 'ext-a.test', path: '/' })).status, 404, 'the superseded changes are gone');
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets an in-flight request finish, then Portico exits 0 and HAProxy is gone', async () => {
    const p = await startPortico({ manifests: [await demoDir()], args: ['--shutdown-grace-period', '10'] });
    await p.waitReady();
    const arrived = requestsArrived(pods);
    const inFlight = httpGet(p.httpPort, { host: 'slow.test', path: '/slow?ms=1500' });
    await waitFor(() => Promise.resolve(requestsArrived(pods) > arrived), { timeoutMs: 3000, message: 'the request never reached the pod' });
    const exit = p.stop('SIGTERM');
    const r = await inFlight;
    assert.equal(r.status, 200, 'the request in flight completed');
    assert.deepEqual(await exit, { code: 0, signal: null });
    await assert.rejects(httpGet(p.httpPort, { host: 'slow.test', path: '/' }), 'nothing listens after the stop');
  });
});

describe('supervision', () => {
  test('when HAProxy dies, Portico restarts it within a second, with every change made at runtime since the last reload', async () => {
    const dir = await demoDir();
    const p = await startPortico({ manifests: [dir] });
    await p.waitReady();
    // A Service and a route added through the runtime API only: not in the configuration file HAProxy started from.
    await writeManifest(dir, 'late.yaml', docs(service({ name: 'late', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'late-1', service: 'late', ports: [{ port: 3000 }], endpoints: [{ ip: pods[pods.length - 1]!.ip }] }), ingress({ name: 'late', rules: [{ host: 'late.test', paths: [{ path: '/', pathType: 'Prefix', service: 'late', port: 80 }] }] })));
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'late.test', path: '/' })).status === 200, { timeoutMs: 3000, message: 'late.test never served' });
    assert.equal(metric(await metrics(p), 'portico_haproxy_reloads_total'), 0);
    const pidText = await readMasterPid(p.stateDir, p.proc.pid!);
    process.kill(pidText, 'SIGKILL');
    const t0 = Date.now();
    // The killed master's worker may answer for a few more milliseconds: wait for the new master before judging.
    await p.waitForLog((l) => String(l.msg).includes('HAProxy restarted'), 5000);
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'slow.test', path: '/' }).catch(() => ({ status: 0 }))).status === 200, {
      timeoutMs: 5000,
      intervalMs: 20,
      message: 'HAProxy was not restarted',
    });
    const took = Date.now() - t0;
    assert.ok(took < 2000, `traffic was back after ${took} ms`);
    const line = await p.waitForLog((l) => String(l.msg).includes('exited unexpectedly'), 1000);
    assert.equal(line.level, 50);
    assert.equal((await httpGet(p.httpPort, { host: 'late.test', path: '/' })).status, 200, 'the runtime-only route survived the restart');
    assert.equal(metric(await metrics(p), 'portico_haproxy_restarts_total'), 1);
  });
});

/** HAProxy's master is the child of the Portico process running `haproxy -W`. */
async function readMasterPid(_stateDir: string, porticoPid: number): Promise<number> {
  const children = (await readFile(`/proc/${porticoPid}/task/${porticoPid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  for (const c of children) {
    const cmd = await readFile(`/proc/${c}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('haproxy') && cmd.includes('-W')) return c;
  }
  throw new Error('no HAProxy master found');
}

describe('command line', () => {
  test('--help lists the commands and serve --help documents every flag', async () => {
    const top = await portico(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /portico serve/);
    assert.match(top.stdout, /portico translate/);
    const serve = await portico(['serve', '--help']);
    assert.equal(serve.code, 0);
    for (const flag of ['--manifests', '--http-port', '--https-port', '--admin-port', '--ingress-class', '--controller-name', '--default-ssl-certificate', '--haproxy-bin', '--state-dir', '--log-format', '--shutdown-drain-delay', '--shutdown-grace-period'])
      assert.ok(serve.stdout.includes(flag), `serve --help documents ${flag}`);
  });
  test('a bad flag value is refused with the flag and the rule', async () => {
    const r = await portico(['serve', '--manifests', '/tmp', '--http-port', '99999']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--http-port: "99999" must be an integer from 1 to 65535/);
    const r2 = await portico(['serve', '--http-port', '8080']);
    assert.match(r2.stderr, /--manifests is required/);
  });
  test('translate prints the routing model and diagnostics as JSON without starting HAProxy', async () => {
    const dir = await demoDir();
    await writeManifest(dir, 'bad.yaml', ingress({ name: 'bad', rules: [{ host: '1.2.3.4', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] }));
    const r = await portico(['translate', '--manifests', dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { model: { hostGroups: { key: string }[] }; diagnostics: { object: string; rule: string }[] };
    assert.deepEqual(out.model.hostGroups.map((g) => g.key), ['slow.test']);
    assert.ok(out.diagnostics.some((d) => d.object === 'Ingress default/bad' && d.rule === 'V6'));
  });
});

describe('upstream timeouts', () => {
  test('a backend slower than --upstream-read-timeout gets 504 (B17)', async () => {
    const p = await startPortico({ manifests: [await demoDir()], args: ['--upstream-read-timeout', '1'] });
    await p.waitReady();
    const r = await httpGet(p.httpPort, { host: 'slow.test', path: '/slow?ms=2500' });
    assert.equal(r.status, 504);
    assert.equal(r.headers.server, 'portico');
    assert.equal((await httpGet(p.httpPort, { host: 'slow.test', path: '/slow?ms=10' })).status, 200);
  });
});

describe('a configuration HAProxy rejects never replaces the live one', () => {
  test('after a failed check the last good configuration keeps serving, and the reason is logged', async () => {
    const dir = await demoDir();
    const state = await manifestDir();
    // A stand-in for the haproxy binary that fails `haproxy -c` while a marker file exists: the only way to make
    // Portico produce a configuration HAProxy rejects, since every user string is validated first.
    const wrapper = join(state, 'haproxy-wrapper.sh');
    const marker = join(state, 'reject');
    await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = "-c" ] && [ -e ${marker} ]; then echo "[ALERT] rejected by test" >&2; exit 1; fi\nexec haproxy "$@"\n`, { mode: 0o755 });
    const p = await startPortico({ manifests: [dir], args: ['--haproxy-bin', wrapper] });
    await p.waitReady();
    await writeFile(marker, '');
    // An ExternalName Service needs a new configuration (routes, endpoints and plain Services go through the runtime API).
    await writeManifest(dir, 'new.yaml', docs(service({ name: 'fresh', type: 'ExternalName', externalName: 'fresh.invalid', ports: [{ port: 80 }] }), ingress({ name: 'new', rules: [{ host: 'new.test', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }, { path: '/ext', pathType: 'Prefix', service: 'fresh', port: 80 }] }] })));
    // No object is to blame (a configuration without any object fails too): nothing is left out.
    const line = await p.waitForLog((l) => String(l.msg).includes('last good configuration stays live'), 15_000);
    assert.match(String(line.err), /rejected by test/);
    assert.ok(p.logs.entries.some((l) => String(l.msg).includes('no object is to blame')));
    assert.ok(!p.logs.entries.some((l) => l.rule === 'haproxy-rejected'), 'no innocent object is blamed');
    assert.equal((await httpGet(p.httpPort, { host: 'slow.test', path: '/' })).status, 200, 'old routes still served');
    assert.equal((await httpGet(p.httpPort, { host: 'new.test', path: '/' })).status, 404, 'the rejected change is not live');
    await rm(marker);
    await writeManifest(dir, 'nudge.yaml', ingress({ name: 'nudge', rules: [{ host: 'nudge.test', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] }));
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'new.test', path: '/' })).status === 200, { timeoutMs: 3000, message: 'the next good configuration never went live' });
  });
});

describe('a first configuration HAProxy refuses', () => {
  test('Portico starts with everything else, reports the object to blame, and serves it once it is fixed', async () => {
    const dir = await demoDir();
    const state = await manifestDir();
    // A stand-in for the haproxy binary that refuses any configuration with the "poison" Service's backend.
    const wrapper = join(state, 'haproxy-wrapper.sh');
    await writeFile(wrapper, `#!/bin/sh\nfor a in "$@"; do if [ -f "$a" ] && grep -q be_default_poison_80 "$a"; then echo "[ALERT] poisoned by test" >&2; exit 1; fi; done\nexec haproxy "$@"\n`, { mode: 0o755 });
    await writeManifest(dir, 'poison.yaml', docs(service({ name: 'poison', ports: [{ port: 80, targetPort: 3000 }] }), ingress({ name: 'poison', rules: [{ host: 'poison.test', paths: [{ path: '/', pathType: 'Prefix', service: 'poison', port: 80 }] }] })));
    const p = await startPortico({ manifests: [dir], args: ['--haproxy-bin', wrapper] });
    await p.waitReady(30_000);
    assert.equal((await httpGet(p.httpPort, { host: 'slow.test', path: '/' })).status, 200, 'everything else is served');
    assert.equal((await httpGet(p.httpPort, { host: 'poison.test', path: '/' })).status, 404, 'the Ingress to blame is left out');
    const line = await p.waitForLog((l) => l.rule === 'haproxy-rejected');
    assert.equal(line.object, 'Ingress default/poison', 'the Ingress is blamed: its route brings the backend in, not the Service');
    assert.match(String(line.msg), /poisoned by test/, 'the log says why');
    await writeManifest(dir, 'poison.yaml', docs(service({ name: 'poison', ports: [{ port: 80, targetPort: 3000 }] }), ingress({ name: 'poison', rules: [{ host: 'poison.test', paths: [{ path: '/', pathType: 'Prefix', service: 'slow', port: 80 }] }] })));
    await waitFor(async () => (await httpGet(p.httpPort, { host: 'poison.test', path: '/' })).status === 200, { timeoutMs: 10_000, message: 'the fixed Ingress never went live' });
  });
});

describe('log formats', () => {
  test('--log-format text prints one human-readable line per event', async () => {
    const p = await startPortico({ manifests: [await demoDir()], args: ['--log-format', 'text'] });
    await p.waitReady();
    const live = (): string[] => p.logs.lines.filter((l) => / INFO configuration live /.test(l));
    await waitFor(() => Promise.resolve(live().length > 0), { timeoutMs: 3000, message: () => p.logs.lines.slice(0, 5).join('\n') });
    const lines = live();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO configuration live component=controller/);
  });
});
