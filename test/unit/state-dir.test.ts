// The state directory rules on a real filesystem: what is created, what is accepted, what is refused and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDirError, prepareStateDir } from '../../src/haproxy/process/state-dir.js';

async function withBase(fn: (base: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'portico-statedir-'));
  try {
    await fn(base);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

test('a missing path is created, parents included, with mode 0700', async () => {
  await withBase(async (base) => {
    const dir = join(base, 'a', 'b', 'state');
    await prepareStateDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    await prepareStateDir(dir); // and accepted as it is the next time
  });
});

test("a path too long for HAProxy's unix sockets is refused before anything is created, naming the socket and the limit", async () => {
  await withBase(async (base) => {
    // body-gate.sock is the longest socket name (14 bytes): a directory of 82 bytes makes its path 97, the most
    // HAProxy binds; one more byte is refused.
    const fits = join(base, 'x'.repeat(82 - base.length - 1));
    assert.equal(Buffer.byteLength(fits), 82);
    await prepareStateDir(fits);
    const tooLong = `${fits}y`;
    await assert.rejects(prepareStateDir(tooLong), (e: Error) => e instanceof StateDirError && e.message.includes(`${tooLong}/body-gate.sock is 98 bytes`) && e.message.includes('97 bytes or fewer'));
    await assert.rejects(stat(tooLong), /ENOENT/);
  });
});

test('below a directory anyone can write but with the sticky bit (/tmp; a Kubernetes emptyDir on tmpfs, mode 3777): accepted', async () => {
  await withBase(async (base) => {
    const shared = join(base, 'emptydir');
    await mkdir(shared);
    await chmod(shared, 0o3777);
    await prepareStateDir(join(shared, 'state'));
  });
});

test('the sticky directory itself is refused: others may create entries in it', async () => {
  await withBase(async (base) => {
    const shared = join(base, 'emptydir');
    await mkdir(shared);
    await chmod(shared, 0o3777);
    await assert.rejects(prepareStateDir(shared), (e: Error) => e instanceof StateDirError && /the state directory is writable by other users \(mode 3777\)/.test(e.message));
  });
});

test('a state directory its group can write is refused', async () => {
  await withBase(async (base) => {
    const dir = join(base, 'state');
    await mkdir(dir);
    await chmod(dir, 0o770);
    await assert.rejects(prepareStateDir(dir), /the state directory is writable by its group \(mode 0770\)/);
  });
});

test('a link to a directory below an unsafe one is judged by where it leads', async () => {
  await withBase(async (base) => {
    const unsafe = join(base, 'unsafe');
    await mkdir(join(unsafe, 'state'), { recursive: true, mode: 0o700 });
    await chmod(unsafe, 0o777);
    await symlink(join(unsafe, 'state'), join(base, 'link'));
    await assert.rejects(prepareStateDir(join(base, 'link')), new RegExp(`${unsafe} is writable by other users without the sticky bit`));
  });
});
