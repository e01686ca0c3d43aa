// A source that fails is not a source that is empty. The manifests directory renamed away, or unreadable
// (chmod 000, with Portico running as an ordinary user: root ignores permissions), keeps every route, with one
// warning per episode; files and directories really deleted still take their routes with them.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, LogLine, Portico } from './harness/index.js';

const pods: Echo[] = [];
after(() => stopEverything(pods));


const NOBODY = { uid: 65534, gid: 65534 };
/** At least two of the manifests' rescans (one a second), and the watch events, must have had their chance to drop
 * routes (before the fix, the first rescan did). */
const OBSERVE_MS = 2500;

const site = (name: string): string => ingress({ name, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: 'app', port: 80 }] }] });

async function appDir(): Promise<string> {
  const dir = await manifestDir();
  const ip = `127.0.174.${pods.length + 1}`;
  pods.push(await startEcho({ pod: `src-${pods.length}`, ip, port: 3000 }));
  await writeManifest(dir, 'app.yaml', docs(service({ name: 'app', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'app-1', service: 'app', ports: [{ port: 3000 }], endpoints: [{ ip }] })));
  await writeManifest(dir, 'top.yaml', site('top'));
  await writeManifest(dir, 'team/nested.yaml', site('nested'));
  return dir;
}

async function status(p: Portico, host: string): Promise<number> {
  return (await httpGet(p.httpPort, { host, path: '/' })).status;
}

/** Every request during the window is answered 200 for every host. */
async function servedThroughout(p: Portico, hosts: string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  let n = 0;
  while (Date.now() < until) {
    for (const h of hosts) assert.equal(await status(p, h), 200, `${h} after ${n} requests`);
    n++;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const warnings = (p: Portico, re: RegExp): LogLine[] => p.logs.entries.filter((l) => l.level === 40 && re.test(String(l.msg)));

describe('the manifests directory disappears for a while', () => {
  test('renamed away: every route stays, one warning; renamed back: one line says so', async () => {
    const dir = await appDir();
    const p = await startPortico({ manifests: [dir] });
    await p.waitReady();
    await rename(dir, `${dir}.away`);
    try {
      await servedThroughout(p, ['top.test', 'nested.test'], OBSERVE_MS);
      const warned = warnings(p, /does not exist/);
      assert.equal(warned.length, 1, 'one warning for the episode, not one per rescan');
      assert.match(String(warned[0]!.msg), /^manifest path .* does not exist; keeping the objects of the 3 file\(s\) read from it until it is back/);
    } finally {
      await rename(`${dir}.away`, dir);
    }
    await p.waitForLog((l) => l.msg === `${dir} can be read again`, 5000);
    assert.equal(await status(p, 'top.test'), 200);
  });
});

describe('deletions are still deletions', () => {
  test('a deleted file and a deleted subdirectory take their routes; the rest stays', async () => {
    const dir = await appDir();
    const p = await startPortico({ manifests: [dir] });
    await p.waitReady();
    await rm(join(dir, 'team'), { recursive: true });
    await waitFor(async () => (await status(p, 'nested.test')) === 404, { timeoutMs: 5000, message: 'the deleted subdirectory still routes' });
    await rm(join(dir, 'top.yaml'));
    await waitFor(async () => (await status(p, 'top.test')) === 404, { timeoutMs: 5000, message: 'the deleted file still routes' });
    await writeManifest(dir, 'other.yaml', site('other'));
    await waitFor(async () => (await status(p, 'other.test')) === 200, { timeoutMs: 5000, message: 'a new file is not read' });
    assert.deepEqual(warnings(p, /manifest/), [], 'a deletion is not a problem to warn about');
  });
});

describe('an unreadable manifests directory (Portico as an ordinary user)', () => {
  test('chmod 000 on the directory, then on a file: every route stays, one warning each; readable again, one line each', async () => {
    const base = await manifestDir();
    await chmod(base, 0o755); // the ordinary user must reach what lies below
    const dir = join(base, 'manifests');
    await mkdir(dir, { mode: 0o755 });
    const src = await appDir();
    for (const f of ['app.yaml', 'top.yaml', 'team/nested.yaml']) await writeManifest(dir, f, await readFile(join(src, f), 'utf8'));
    await chmod(join(dir, 'team'), 0o755);
    const state = join(base, 'state');
    await mkdir(state, { mode: 0o700 });
    await chown(state, NOBODY.uid, NOBODY.gid);
    const p = await startPortico({ manifests: [dir], stateDir: state, user: NOBODY });
    await p.waitReady();
    assert.equal(await status(p, 'nested.test'), 200);

    await chmod(dir, 0o000);
    try {
      await servedThroughout(p, ['top.test', 'nested.test'], OBSERVE_MS);
      const warned = warnings(p, /cannot list directory/);
      assert.equal(warned.length, 1, 'one warning for the episode');
      assert.match(String(warned[0]!.msg), new RegExp(`^cannot list directory ${dir}: EACCES`));
    } finally {
      await chmod(dir, 0o755);
    }
    await p.waitForLog((l) => l.msg === `${dir} can be read again`, 5000);

    // chmod changes the file's ctime, so Portico reads it again, and fails.
    const top = join(dir, 'top.yaml');
    await chmod(top, 0o000);
    try {
      await servedThroughout(p, ['top.test'], OBSERVE_MS);
      const warned = warnings(p, /cannot read manifest file/);
      assert.equal(warned.length, 1, 'one warning for the episode');
      assert.match(String(warned[0]!.msg), new RegExp(`^cannot read manifest file ${top}: EACCES`));
    } finally {
      await chmod(top, 0o644);
    }
    await p.waitForLog((l) => l.msg === `manifest file ${top} can be read again`, 5000);
    assert.equal(await status(p, 'top.test'), 200);
  });
});
