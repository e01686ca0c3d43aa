// A full state directory (ENOSPC), for real: the state directory is a small tmpfs, filled to the last byte. HAProxy,
// killed meanwhile, must come back from the last complete generation on disk and be brought up to date through the
// runtime API, not ready until it is; no partial generation directory may be left; once space is back, reloads work
// again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { docs, endpointSlice, fill, httpGet, ingress, manifestDir, mountTmpfs, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico, Tmpfs } from './harness/index.js';

const pods: Echo[] = [];
let mountPoint = '';
let disk: Tmpfs | undefined;
/** Why the test cannot run here (no right to mount), if it cannot. */
let skip: string | undefined;

before(async () => {
  const m = await mountTmpfs('1m');
  if (typeof m === 'string') skip = m;
  else {
    disk = m;
    mountPoint = m.dir;
  }
});

after(async () => {
  try {
    await stopEverything(pods);
  } finally {
    disk?.unmount();
  }
});

const site = (name: string, svc: string): string => ingress({ name, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 80 }] }] });
const app = (name: string, ip: string): string =>
  docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }), site(name, name));

async function status(p: Portico, host: string): Promise<number> {
  return httpGet(p.httpPort, { host, path: '/', timeoutMs: 3000 }).then(
    (r) => r.status,
    () => 0,
  );
}

/** A process that exists and is not a zombie waiting to be reaped. */
async function running(pid: number): Promise<boolean> {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return st !== '' && !/^\d+ \(.*\) Z/.test(st);
}


/** Every generation directory, and whether each is complete (its configuration and default certificate are there). */
async function generations(stateDir: string): Promise<{ name: string; complete: boolean }[]> {
  const out = [];
  for (const name of await readdir(join(stateDir, 'gen'))) {
    const has = async (rel: string): Promise<boolean> => (await stat(join(stateDir, 'gen', name, rel)).catch(() => undefined))?.isFile() === true;
    out.push({ name, complete: (await has('haproxy.cfg')) && (await has('certs/default.pem')) });
  }
  return out;
}

describe('a full state directory (ENOSPC)', () => {
  test('HAProxy killed meanwhile restarts from the last complete generation and catches up at runtime; nothing partial is left; reloads resume once space is back', async (t) => {
    if (skip) return t.skip(skip);
    const dir = await manifestDir();
    pods.push(await startEcho({ pod: 'disk', ip: '127.0.172.1', port: 3000 }));
    await writeManifest(dir, 'app.yaml', app('disk', '127.0.172.1'));
    const p = await startPortico({ manifests: [dir], stateDir: mountPoint, args: ['--reload-interval', '0'] });
    await p.waitReady();
    // A Service and routes added through the runtime API only: the generation on disk does not have them. Enough
    // routes that bringing a restarted HAProxy up to date takes a while (tens of milliseconds), long enough to see
    // whether /readyz waits for it.
    const lateSites = Array.from({ length: 150 }, (_, i) => site(`late-${i}`, 'late'));
    await writeManifest(dir, 'late.yaml', docs(app('late', '127.0.172.1'), ...lateSites));
    await waitFor(async () => (await status(p, 'late.test')) === 200 && (await status(p, 'late-149.test')) === 200, { timeoutMs: 5000, message: 'late.test never served' });

    await fill(join(mountPoint, 'filler'));
    const master = Number((await readFile(join(mountPoint, 'haproxy.pid'), 'utf8')).trim());
    const workers = (await readFile(`/proc/${master}/task/${master}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    process.kill(master, 'SIGKILL');
    // The killed master's worker notices and exits within milliseconds; until then it still answers.
    await waitFor(async () => (await Promise.all(workers.map(running))).every((alive) => !alive), { timeoutMs: 5000, message: 'the old worker did not exit' });
    const fallback = await p.waitForLog((l) => String(l.msg).startsWith('cannot render a fresh configuration for the restart'), 5000);
    assert.match(String(fallback.err), /ENOSPC/, 'the log names the cause');
    // A change arriving now, while the old generation is starting, needs no reload, only a HAProxy to apply it to:
    // the full disk must not hold it back.
    await writeManifest(dir, 'during.yaml', site('during', 'disk'));

    // The restarted HAProxy serves the generation on disk, without late.test, until it is brought up to date:
    // /readyz must not say 200 before, and late.test must be served the moment it does.
    let wasDown = false;
    await waitFor(
      async () => {
        const ready = (await httpGet(p.adminPort, { path: '/readyz', timeoutMs: 3000 })).status === 200;
        wasDown ||= !ready;
        return wasDown && ready;
      },
      { timeoutMs: 10_000, intervalMs: 5, message: 'HAProxy never came back on a full disk' },
    );
    assert.equal(await status(p, 'late-149.test'), 200, '/readyz said 200 while a runtime-only route was still missing');
    assert.equal(await status(p, 'late.test'), 200);
    await p.waitForLog((l) => l.msg === 'HAProxy is serving again, from an older configuration; /readyz answers 503 until it is up to date', 1000);
    await p.waitForLog((l) => l.msg === 'HAProxy is up to date with the live model again', 5000);
    assert.equal(await status(p, 'disk.test'), 200);
    await waitFor(async () => (await status(p, 'during.test')) === 200, { timeoutMs: 5000, message: 'the change made while HAProxy was down never went live on the full disk' });
    let gens = await generations(mountPoint);
    assert.ok(gens.every((g) => g.complete), `no partial generation directory: ${JSON.stringify(gens)}`);

    // A change that needs a reload (an ExternalName Service) cannot be written now: it is refused, nothing is left over.
    const extIngress = ingress({ name: 'ext', rules: [{ host: 'ext.test', paths: [{ path: '/', pathType: 'Prefix', service: 'disk', port: 80 }, { path: '/ext', pathType: 'Prefix', service: 'ext', port: 80 }] }] });
    const since = p.logs.entries.length;
    await writeManifest(dir, 'ext.yaml', docs(service({ name: 'ext', type: 'ExternalName', externalName: 'ext.invalid', ports: [{ port: 80 }] }), extIngress));
    const refused = await p.waitForLog((l) => l.msg === 'configuration not applied; the last good configuration stays live' && /ENOSPC/.test(String(l.err)) && p.logs.entries.indexOf(l) >= since, 10_000);
    assert.match(String(refused.err), /cannot write generation/);
    assert.equal(await status(p, 'ext.test'), 404, 'the change is not live');
    assert.equal(await status(p, 'disk.test'), 200, 'everything else still serves');
    gens = await generations(mountPoint);
    assert.ok(gens.every((g) => g.complete) && gens.length <= 2, `only complete generations, at most two: ${JSON.stringify(gens)}`);

    await rm(join(mountPoint, 'filler'));
    await writeManifest(dir, 'nudge.yaml', site('nudge', 'disk'));
    await waitFor(async () => (await status(p, 'ext.test')) === 200, { timeoutMs: 10_000, intervalMs: 50, message: 'the reload never went through once space was back' });
    gens = await generations(mountPoint);
    assert.ok(gens.every((g) => g.complete) && gens.length <= 2, `only complete generations, at most two: ${JSON.stringify(gens)}`);
    await p.stop();
  });
});
