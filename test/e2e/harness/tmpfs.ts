// A small tmpfs of a test's own: a disk that can be filled for real without filling anybody else's. Mounting needs
// CAP_SYS_ADMIN; without it the caller gets the reason, to skip with.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Lazy, so that a process still holding a file there (a HAProxy being stopped) cannot make it fail; idempotent. */
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (mount's syntax: `1m`) on a fresh directory, or returns why it cannot. The mount goes
 * away with the process however it ends, an 'exit' handler included: a file stopped by the runner's timeout runs
 * no after() hook, and a mount left behind would fill up /tmp's mount table across runs.
 */
export async function mountTmpfs(size: string): Promise<Tmpfs | string> {
  // Not one of the harness's temporary directories: removing those at exit would fail on a mount point.
  const dir = await mkdtemp(join(tmpdir(), 'portico-e2e-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): filling a disk needs root with mount rights`;
  }
  let mounted = true;
  const unmount = (): void => {
    if (!mounted) return;
    mounted = false;
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Never let cleanup hide a test's own result, nor stop an exiting process.
    }
  };
  process.on('exit', unmount);
  return { dir, unmount };
}

/** Writes zeros until the filesystem refuses: whole chunks first, then single bytes for the last page. */
export async function fill(path: string): Promise<void> {
  const f = await open(path, 'w');
  try {
    for (const size of [65536, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          await f.write(chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    await f.close();
  }
}
