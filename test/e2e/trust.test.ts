// Trust nothing on disk Portico did not create: a state directory someone else owns or can write is refused; a
// manifest that is not a regular file (a link to /dev/zero, a named pipe) or is larger than the cap is refused
// with a diagnostic naming it, and the rest keeps serving. And in manifest mode the admin port stays on loopback.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docs, endpointSlice, httpGet, ingress, manifestDir, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
const pods: Echo[] = [];
after(() => stopEverything(pods));

const site = (name: string): string => ingress({ name, rules: [{ host: `${name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: 'app', port: 80 }] }] });

async function appDir(): Promise<string> {
  const dir = await manifestDir();
  const ip = `127.0.175.${pods.length + 1}`;
  pods.push(await startEcho({ pod: `trust-${pods.length}`, ip, port: 3000 }));
  await writeManifest(dir, 'app.yaml', docs(service({ name: 'app', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'app-1', service: 'app', ports: [{ port: 3000 }], endpoints: [{ ip }] }), site('app')));
  return dir;
}

/** `portico serve` run to its end (a refused start exits at once); a Portico that keeps running is killed after 10 s. */
function serve(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(repo, 'bin/portico'), 'serve', '--http-port', '1', '--https-port', '2', ...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
    });
  });
}

async function status(p: Portico, host: string): Promise<number> {
  return (await httpGet(p.httpPort, { host, path: '/' })).status;
}

describe('the state directory', () => {
  test('another user’s directory, a directory others can write, and one with another user’s gen/ are refused', async () => {
    const manifests = await appDir();
    const base = await manifestDir();

    const foreign = join(base, 'foreign');
    await mkdir(foreign);
    await chmod(foreign, 0o777);
    await chown(foreign, 65534, 65534);
    let r = await serve(['--manifests', manifests, '--state-dir', foreign]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`--state-dir ${foreign}: the state directory belongs to uid 65534, not to this process`));

    const open = join(base, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    r = await serve(['--manifests', manifests, '--state-dir', open]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the state directory is writable by other users \(mode 0777\)/);

    const planted = join(base, 'planted');
    await mkdir(join(planted, 'gen'), { recursive: true, mode: 0o700 });
    await chown(join(planted, 'gen'), 65534, 65534);
    r = await serve(['--manifests', manifests, '--state-dir', planted]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${planted}/gen belongs to uid 65534`));

    // A fresh path below a directory anyone can write, without the sticky bit: the state directory could be swapped.
    const shared = join(base, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    r = await serve(['--manifests', manifests, '--state-dir', join(shared, 'state')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${shared} is writable by other users without the sticky bit`));
  });

  test('a path that does not exist yet is created with mode 0700 and used', async () => {
    const stateDir = join(await manifestDir(), 'new', 'state');
    const p = await startPortico({ manifests: [await appDir()], stateDir });
    await p.waitReady();
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal(await status(p, 'app.test'), 200);
  });
});

describe('manifest files that are not what they seem', () => {
  test('a link to /dev/zero and a named pipe are refused, named in a diagnostic; everything else serves (and the admin port is on loopback)', async () => {
    const dir = await appDir();
    await symlink('/dev/zero', join(dir, 'zero.yaml'));
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const p = await startPortico({ manifests: [dir] });
    await p.waitReady();
    assert.equal(await status(p, 'app.test'), 200);
    // The peak resident memory shows that /dev/zero was never read (Portico alone needs about 100 MB).
    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${p.proc.pid}/status`, 'utf8'))?.[1]);
    assert.ok(peakKb < 400 * 1024, `peak memory ${Math.round(peakKb / 1024)} MB`);
    const zero = await p.waitForLog((l) => l.file === join(dir, 'zero.yaml'), 3000);
    assert.match(String(zero.msg), /refused: it is a character device, not a regular file/);
    const pipe = await p.waitForLog((l) => l.file === join(dir, 'pipe.yaml'), 3000);
    assert.match(String(pipe.msg), /refused: it is a named pipe, not a regular file/);
    // A ConfigMap volume's files are links to regular files: those are read.
    await mkdir(join(dir, '..2026_12_01'));
    await writeManifest(join(dir, '..2026_12_01'), 'cm.yaml', site('cm'));
    await symlink('..2026_12_01', join(dir, '..data'));
    await symlink('..data/cm.yaml', join(dir, 'cm.yaml'));
    await waitFor(async () => (await status(p, 'cm.test')) === 200, { timeoutMs: 5000, message: 'a link to a regular file was not read' });
    // In manifest mode the admin port is for local tools: loopback only.
    assert.equal((await httpGet(p.adminPort, { address: '127.0.0.1', path: '/healthz' })).status, 200);
    await assert.rejects(httpGet(p.adminPort, { address: '127.0.0.2', path: '/healthz', timeoutMs: 2000 }), /ECONNREFUSED/, 'the admin port listens on 127.0.0.1 only');
  });

  test('a file above --max-manifest-file-size is refused, and the objects it held before stay', async () => {
    const dir = await appDir();
    await writeManifest(dir, 'big.yaml', site('before'));
    const p = await startPortico({ manifests: [dir], args: ['--max-manifest-file-size', '2Ki'] });
    await p.waitReady();
    assert.equal(await status(p, 'before.test'), 200);
    const padded = `${site('after')}\n${'# padding\n'.repeat(300)}`;
    await writeManifest(dir, 'big.yaml', padded);
    const line = await p.waitForLog((l) => l.file === join(dir, 'big.yaml') && l.level === 50, 5000);
    assert.equal(line.msg, `manifest file ${join(dir, 'big.yaml')} refused: it is larger (${Buffer.byteLength(padded)} bytes) than --max-manifest-file-size (2048 bytes); keeping the 1 object(s) it held before`);
    assert.equal(await status(p, 'before.test'), 200, 'the objects it held before stay');
    assert.equal(await status(p, 'after.test'), 404, 'the refused version is not read');
    await writeManifest(dir, 'big.yaml', site('after'));
    await waitFor(async () => (await status(p, 'after.test')) === 200, { timeoutMs: 5000, message: 'the file, back under the cap, was not read' });
    assert.equal(await status(p, 'before.test'), 404);
  });

  test('--max-manifest-file-size is validated', async () => {
    const r = await serve(['--manifests', '/tmp', '--max-manifest-file-size', '12MB']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-manifest-file-size: "12MB" must be a number of bytes/);
  });
});
