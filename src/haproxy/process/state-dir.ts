// The state directory holds HAProxy's sockets (the runtime API takes private keys with `set ssl cert`), its
// configuration and the certificates' private keys. Whoever can write in it, or in a directory above it, can swap a
// socket for their own and read those keys, or point HAProxy at a configuration of their choosing. So Portico
// refuses to use a directory it does not own outright, and checks the way to it like OpenSSH's StrictModes does.
import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { BODY_GATE_SOCKET } from '../render/body-limit.js';
import { HOP_SOCKET } from '../render/passthrough.js';
import { ADMIN_SOCKET } from '../render/render.js';

export class StateDirError extends Error {}

/** The master CLI's socket in the state directory (HAProxy's -S). */
export const MASTER_SOCKET = 'master.sock';

/** Entries of the state directory Portico writes or replaces; each, if present, must be Portico's own. */
const OWN_ENTRIES = ['gen', 'haproxy.cfg', 'haproxy.cfg.tmp', 'haproxy.pid', ADMIN_SOCKET, MASTER_SOCKET];

/** Unix sockets HAProxy binds in the state directory (the master CLI, the runtime API, the internal hops). */
const SOCKETS = [MASTER_SOCKET, ADMIN_SOCKET, BODY_GATE_SOCKET, HOP_SOCKET];
/** A unix socket's path has 108 bytes with its NUL, and HAProxy binds through a temporary name beside it: it refuses a
 * longer path than this ("socket path ... too long (max 97)", HAProxy 2.6), and only once it reads its configuration. */
const SOCKET_PATH_MAX = 97;

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

function who(uid: number): string {
  return uid === 0 ? 'root' : `uid ${uid}`;
}

/**
 * Creates `dir` (mode 0700) if it does not exist, then checks, and throws a StateDirError saying what is wrong:
 * - HAProxy's sockets in it have paths short enough for HAProxy to bind (checked first: nothing is created then);
 * - the directory and the entries Portico writes in it (`gen/`, the configuration, the sockets, the pid file) belong
 *   to this process's user, and the directories are writable by nobody else;
 * - every directory above it belongs to root or to this user and is writable by nobody else, unless it has the
 *   sticky bit (as /tmp does, and a Kubernetes emptyDir on tmpfs): there, others can create entries but cannot
 *   rename or remove Portico's.
 */
export async function prepareStateDir(dir: string): Promise<void> {
  for (const name of SOCKETS) {
    const p = join(dir, name);
    if (Buffer.byteLength(p) > SOCKET_PATH_MAX)
      throw new StateDirError(`--state-dir ${dir}: too long for HAProxy's sockets: ${p} is ${Buffer.byteLength(p)} bytes, and HAProxy binds a unix socket only at ${SOCKET_PATH_MAX} bytes or fewer; use a shorter path`);
  }
  const uid = process.geteuid?.() ?? 0;
  await checkAncestors(dir, uid);
  let st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new StateDirError(`--state-dir ${dir}: ${e.message}`);
  });
  if (!st) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new StateDirError(`--state-dir ${dir}: cannot create it: ${(e as Error).message}`);
    }
    // Parents created just now are ours, but check again: someone may have raced us to a name on the way.
    await checkAncestors(dir, uid);
    st = await stat(dir);
  }
  if (!st.isDirectory()) throw new StateDirError(`--state-dir ${dir}: not a directory`);
  ownDirectory(dir, st, uid, 'the state directory');
  for (const name of OWN_ENTRIES) {
    const p = join(dir, name);
    const e = await lstat(p).catch(() => undefined);
    if (!e) continue;
    if (e.uid !== uid) throw new StateDirError(`--state-dir ${dir}: ${p} belongs to ${who(e.uid)}, not to this process (${who(uid)}): refusing to use a state directory someone else has written in`);
    if (name === 'gen') {
      if (!e.isDirectory()) throw new StateDirError(`--state-dir ${dir}: ${p} is not a directory`);
      ownDirectory(dir, e, uid, p);
    }
  }
}

function ownDirectory(dir: string, st: Stats, uid: number, what: string): void {
  if (st.uid !== uid)
    throw new StateDirError(`--state-dir ${dir}: ${what} belongs to ${who(st.uid)}, not to this process (${who(uid)}); use a directory of this user's, or a path that does not exist yet (Portico creates it with mode 0700)`);
  if (st.mode & GROUP_OR_OTHER_WRITE)
    throw new StateDirError(`--state-dir ${dir}: ${what} is writable by ${st.mode & 0o002 ? 'other users' : 'its group'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); another user could replace HAProxy's sockets or configuration. chmod go-w it, or use a fresh path`);
}

/** Every directory on the way, both as written (a symlink's directory counts) and after resolving symlinks. */
async function checkAncestors(dir: string, uid: number): Promise<void> {
  const seen = new Set<string>();
  const chains = [prefixes(dirname(dir))];
  // The directory itself may be a symlink: the directories above its target count too.
  const realParent = await realpath(dir).then(dirname, () => realpath(dirname(dir)).catch(() => undefined));
  if (realParent) chains.push(prefixes(realParent));
  for (const p of chains.flat()) {
    if (seen.has(p)) continue;
    seen.add(p);
    const st = await stat(p).catch(() => undefined);
    if (!st) continue; // not there yet: created below with mode 0700
    if (st.uid !== 0 && st.uid !== uid)
      throw new StateDirError(`--state-dir ${dir}: ${p} belongs to ${who(st.uid)}, who could replace the state directory; use a path whose every directory belongs to root or to this user`);
    if (st.mode & GROUP_OR_OTHER_WRITE && !(st.mode & STICKY))
      throw new StateDirError(`--state-dir ${dir}: ${p} is writable by ${st.mode & 0o002 ? 'other users' : 'its group'} without the sticky bit (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}), so another user could rename the state directory and put their own in its place`);
  }
}

function prefixes(path: string): string[] {
  const out = ['/'];
  let cur = '';
  for (const part of path.split(sep).filter(Boolean)) {
    cur += `/${part}`;
    out.push(cur);
  }
  return out;
}
