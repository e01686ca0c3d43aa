// Watches manifest files and directories. fs.watch gives the speed (changes land in tens of milliseconds); a
// periodic rescan gives the guarantee, since inotify misses events on some filesystems and for renamed parents.
//
// A source that fails is not a source that is empty: only a successful read removes objects. A --manifests path
// that is missing or unreadable, a directory that cannot be listed, a file that cannot be stat-ed or read: each
// keeps the objects last read from below it, and is logged once when the problem starts and once when it ends. A
// file or directory that a successful listing no longer shows, or that is gone when it is opened, was deleted: its
// objects go.
import { constants, watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../../log.js';
import { parseManifestText } from './parse.js';
import type { Obj } from './parse.js';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;
const READ_BATCH_FILES = 64;
const READ_BATCH_BYTES = 1 << 20;
/** --max-manifest-file-size's default: far above any hand-written manifest, and above a 1,000-Ingress GitOps file. */
export const DEFAULT_MAX_FILE_BYTES = 8 << 20;

export interface ManifestSourceOptions {
  /** The full rescan's period (at least; it grows on trees where a scan is slow). */
  rescanMs?: number;
  /** Larger files are refused, as malformed ones are: the objects they held before stay. */
  maxFileBytes?: number;
}

/** What one full listing found. */
interface Listing {
  files: string[];
  /** Directories to watch. */
  dirs: Set<string>;
  /** Directories walked: a manifest file appearing in one is in scope by its name. */
  walked: Set<string>;
  /** Paths that could not be listed: files known below them keep their objects. */
  unlisted: string[];
  /** Problem keys seen in this listing. */
  failing: Set<string>;
}

function isGone(e: NodeJS.ErrnoException): boolean {
  return e.code === 'ENOENT' || e.code === 'ENOTDIR';
}

function below(file: string, paths: string[]): boolean {
  return paths.some((p) => file === p || file.startsWith(p.endsWith('/') ? p : `${p}/`));
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

interface FileState {
  /** ino, size, mtime, ctime: a change of any means the file must be read again ('' forces it). */
  sig: string;
  objects: Obj[];
}

export class ManifestSource {
  private readonly state = new Map<string, FileState>();
  private readonly watchers = new Map<string, FSWatcher>();
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private readonly roots: string[];
  /** Files named by watch events since the last look; a full scan when `fullPending`. */
  private pendingFiles = new Set<string>();
  private fullPending = false;
  /** Directories found by walking a directory root: a manifest file appearing in one is in scope by its name. */
  private walkedDirs = new Set<string>();
  private sortedFiles: string[] | undefined;
  /** Problems reported and not yet over, by key (`list:<path>`, `read:<file>`): each is logged when it starts. */
  private readonly problems = new Map<string, string>();
  /** Callers of rereadAll() waiting for the next full scan to finish. */
  private fullScanWaiters: (() => void)[] = [];
  private readonly rescanMs: number;
  private readonly maxFileBytes: number;

  constructor(
    roots: string[],
    private readonly log: Logger,
    private readonly onChange: (files: Map<string, Obj[]>) => void,
    o: ManifestSourceOptions = {},
  ) {
    this.roots = roots.map((r) => resolve(r));
    this.rescanMs = o.rescanMs ?? 1000;
    this.maxFileBytes = o.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  /** First full load; resolves once every file was read. */
  async start(): Promise<Map<string, Obj[]>> {
    this.watching = true;
    await this.scan();
    return this.snapshot();
  }

  stop(): void {
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer) clearTimeout(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  /**
   * Reads every file again, changed or not (SIGHUP), and reports every problem still there afresh; resolves with
   * the number of files once that full scan is done.
   */
  async rereadAll(): Promise<number> {
    for (const s of this.state.values()) s.sig = '';
    this.problems.clear();
    const done = new Promise<void>((resolve) => this.fullScanWaiters.push(resolve));
    this.fullPending = true;
    this.kick(0);
    await done;
    return this.state.size;
  }

  /** The objects of every file as last read. */
  snapshot(): Map<string, Obj[]> {
    this.sortedFiles ??= [...this.state.keys()].sort((a, b) => (a < b ? -1 : 1));
    return new Map(this.sortedFiles.map((f) => [f, this.state.get(f)!.objects]));
  }

  /** Editors write in bursts (temp file, rename, chmod): wait for the burst to settle. */
  private kick(delayMs = 3): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      void this.rescan();
    }, delayMs);
  }

  /**
   * A watch event that names a manifest file in a walked directory looks at that file alone: with 10,000 files, a
   * full scan (a stat per file) would put a quarter of a second before every change. Dotfiles are never read, so
   * their events (editor and atomic-write temporaries) are ignored, except `..`-names: a ConfigMap or Secret volume
   * swaps its `..data` link to update every file at once. Anything else (a new directory, an event without a name)
   * looks at everything.
   */
  private onEvent(dir: string, filename: string | null): void {
    if (filename?.startsWith('.') && !filename.startsWith('..')) return;
    if (filename && this.walkedDirs.has(dir) && !filename.startsWith('.') && !filename.includes('/') && MANIFEST_EXT.test(filename))
      this.pendingFiles.add(join(dir, filename));
    else this.fullPending = true;
    this.kick();
  }

  private async rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    const full = this.fullPending;
    const files = [...this.pendingFiles];
    this.fullPending = false;
    this.pendingFiles = new Set();
    if (!full && files.length === 0) return;
    this.scanning = (full ? this.scan() : this.scanFiles(files))
      .then((changed) => {
        if (changed) this.onChange(this.snapshot());
      })
      .catch((e: unknown) => this.log.error({ component: 'manifests', err: (e as Error).message }, 'manifest scan failed'))
      .finally(() => {
        this.scanning = undefined;
        if (this.again) {
          this.again = false;
          void this.rescan();
        }
      });
    await this.scanning;
  }

  private async scan(): Promise<boolean> {
    const started = performance.now();
    const waiters = this.fullScanWaiters;
    this.fullScanWaiters = [];
    try {
      const l: Listing = { files: [], dirs: new Set(), walked: new Set(), unlisted: [], failing: new Set() };
      for (const root of this.roots) await this.list(root, l);
      const seen = new Set(l.files);
      let changed = await this.refresh(l.files);
      // A file no listing shows was deleted, unless it lies below a path that could not be listed.
      for (const file of [...this.state.keys()]) if (!seen.has(file) && !below(file, l.unlisted)) changed = this.forget(file) || changed;
      for (const key of [...this.problems.keys()]) {
        if (!key.startsWith('list:') || l.failing.has(key)) continue;
        this.problems.delete(key);
        this.log.info({ component: 'manifests', path: key.slice(5) }, `${key.slice(5)} can be read again`);
      }
      this.walkedDirs = l.walked;
      if (this.watching) this.watchDirectories(l.dirs);
      return changed;
    } finally {
      for (const w of waiters) w();
      // Inotify misses events on some filesystems: a periodic full scan is the guarantee, re-armed even after a failed
      // scan. Its period grows with the cost of a scan, so that a huge tree does not keep a core busy stat-ing files.
      if (this.watching) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.fullPending = true;
          this.kick(0);
        }, Math.max(this.rescanMs, 10 * (performance.now() - started)));
        this.timer.unref();
      }
    }
  }

  private async scanFiles(files: string[]): Promise<boolean> {
    const stats = await statAll(files);
    // A new directory under a manifest name: walk everything.
    if (stats.some((st) => !(st instanceof Error) && st.isDirectory())) return this.scan();
    // A file gone together with its directory: a deleted subdirectory, or a root that disappeared (which keeps its
    // objects; the watch on a directory renamed away still reports changes inside it). Only a full scan tells.
    const gone = files.filter((_, i) => { const st = stats[i]; return st instanceof Error && isGone(st); });
    if (gone.length > 0 && (await statAll([...new Set(gone.map((f) => dirname(f)))])).some((st) => st instanceof Error)) return this.scan();
    return this.refresh(files, stats);
  }

  /** Reads and parses the files whose signature changed (or that are gone); true when any file's objects changed. */
  private async refresh(files: string[], known?: (Stats | NodeJS.ErrnoException)[]): Promise<boolean> {
    const stats = known ?? (await statAll(files));
    const stale: { file: string; sig: string; size: number }[] = [];
    let changed = false;
    for (const [i, st] of stats.entries()) {
      const file = files[i]!;
      if (st instanceof Error) {
        if (isGone(st)) changed = this.forget(file) || changed; // deleted between listing and stat
        else this.cannotRead(file, st);
        continue;
      }
      const sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      if (this.state.get(file)?.sig === sig) continue;
      // Never opened: a device or a pipe can be endless (a link to /dev/zero), or block the open itself.
      if (!st.isFile()) this.refuse(file, sig, `it is ${kindOf(st)}, not a regular file`);
      else if (st.size > this.maxFileBytes) this.refuse(file, sig, tooLarge(st.size, this.maxFileBytes));
      else stale.push({ file, sig, size: st.size });
    }
    // Small files are read many at a time (one at a time is several times slower), but never more than about a
    // megabyte of text at once: at 10,000 Ingresses, holding every file's text before parsing would raise the peak
    // memory of the start by the size of the whole tree.
    for (const batch of byBudget(stale, (f) => f.size, READ_BATCH_BYTES, READ_BATCH_FILES)) {
      const results = await Promise.all(batch.map(({ file }) => readBounded(file, this.maxFileBytes)));
      for (const [i, { file, sig }] of batch.entries()) {
        const r = results[i]!;
        results[i] = { gone: true };
        if ('text' in r) changed = this.take(file, sig, r.text) || changed;
        else if ('refused' in r) this.refuse(file, sig, r.refused);
        else if ('error' in r) this.cannotRead(file, r.error);
        else if ('gone' in r) changed = this.forget(file) || changed;
      }
    }
    return changed;
  }

  /** A file that exists but cannot be read keeps the objects it held; reported when the problem starts. */
  private cannotRead(file: string, e: NodeJS.ErrnoException): void {
    const key = `read:${file}`;
    if (this.problems.has(key)) return;
    this.problems.set(key, e.code ?? e.message);
    const held = this.state.get(file)?.objects.length ?? 0;
    this.log.warn({ component: 'manifests', file, err: e.message }, `cannot read manifest file ${file}: ${e.message}; keeping the ${held} object(s) it held until it can be read again`);
  }

  /** Refused like a malformed file: reported once per version, and the objects it held before stay. */
  private refuse(file: string, sig: string, reason: string): void {
    this.readable(file);
    const prev = this.state.get(file);
    this.log.error({ component: 'manifests', file, rule: 'manifest-file' }, `manifest file ${file} refused: ${reason}; keeping the ${prev?.objects.length ?? 0} object(s) it held before`);
    this.remember(file, { sig, objects: prev?.objects ?? [] });
  }

  private readable(file: string): void {
    if (this.problems.delete(`read:${file}`)) this.log.info({ component: 'manifests', file }, `manifest file ${file} can be read again`);
  }

  /** Parses one file's text into the state; true when its objects changed. */
  private take(file: string, sig: string, text: string): boolean {
    this.readable(file);
    const parsed = parseManifestText(text);
    const prev = this.state.get(file);
    if (!parsed.ok) {
      const pos = parsed.line !== undefined ? `:${parsed.line}:${parsed.column ?? 0}` : '';
      this.log.error(
        { component: 'manifests', file, line: parsed.line, column: parsed.column, rule: 'manifest-syntax' },
        `malformed manifest ${file}${pos}: ${parsed.error}; keeping the objects it held before`,
      );
      // Remember the signature so the same broken version is reported once, but keep the old objects.
      this.remember(file, { sig, objects: prev?.objects ?? [] });
      return false;
    }
    this.remember(file, { sig, objects: parsed.objects });
    return true;
  }

  private remember(file: string, s: FileState): void {
    if (!this.state.has(file)) this.sortedFiles = undefined;
    this.state.set(file, s);
  }

  private forget(file: string): boolean {
    this.problems.delete(`read:${file}`);
    if (!this.state.delete(file)) return false;
    this.sortedFiles = undefined;
    return true;
  }

  /**
   * Lists the manifest files under one --manifests path into `l`. What cannot be listed is recorded in `l.unlisted`
   * (the files known below it keep their objects) and reported; a subdirectory gone since its parent was listed
   * was deleted, and is simply not there.
   */
  private async list(root: string, l: Listing): Promise<void> {
    const unreadable = (err: NodeJS.ErrnoException): void => {
      l.dirs.add(dirname(root)); // watch the parent, so that the root appearing later is noticed
      l.unlisted.push(root);
      const held = [...this.state.keys()].filter((f) => below(f, [root])).length;
      this.listingProblem(l, root, isGone(err)
        ? `manifest path ${root} does not exist${held ? `; keeping the objects of the ${held} file(s) read from it until it is back (delete the files inside, not the path, to remove them)` : ''}`
        : `cannot read manifest path ${root}: ${err.message}; keeping the objects of the ${held} file(s) read from it until it can be read again`, err);
    };
    let st: Stats;
    try {
      st = await stat(root);
    } catch (e) {
      unreadable(e as NodeJS.ErrnoException);
      return;
    }
    if (!st.isDirectory()) {
      // A file named on the command line, regular or not: refresh() judges it.
      l.dirs.add(dirname(root));
      l.files.push(root);
      return;
    }
    const walk = async (dir: string): Promise<void> => {
      l.dirs.add(dir);
      l.walked.add(dir);
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (dir !== root && isGone(err)) return; // deleted since its parent was listed
        // The root removed between the stat and the listing (`rm -r` empties it first): the same report as a root
        // found gone, which is the one its episode is logged under.
        if (isGone(err)) return unreadable(err);
        l.unlisted.push(dir);
        this.listingProblem(l, dir, `cannot list directory ${dir}: ${err.message}; keeping the objects of the files below it until it can be listed again`, err);
        return;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // editor swap files and atomic-write temporaries
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        // Anything else with a manifest's name (a link, or a pipe or device that refresh() will refuse).
        else if (MANIFEST_EXT.test(e.name)) l.files.push(p);
      }
    };
    await walk(root);
  }

  private listingProblem(l: Listing, path: string, message: string, err: NodeJS.ErrnoException): void {
    const key = `list:${path}`;
    l.failing.add(key);
    if (this.problems.has(key)) return;
    this.problems.set(key, message);
    this.log.warn({ component: 'manifests', path, err: err.code ?? err.message }, message);
  }

  /**
   * One non-recursive watch per directory, kept in step with the tree on every scan. Node's recursive watch on
   * Linux follows files by inode and goes deaf to a file once it has been replaced by a rename (atomic writes, as
   * editors and `kubectl`-style tools do them); a directory watch sees every rename into it.
   */
  private watchDirectories(dirs: Set<string>): void {
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => this.onEvent(dir, filename));
        w.on('error', (e) => {
          this.log.warn({ component: 'manifests', dir, err: e.message }, 'file watch failed; relying on rescans');
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch (e) {
        this.log.warn({ component: 'manifests', dir, err: (e as Error).message }, 'cannot watch directory; relying on rescans');
      }
    }
  }
}

/** Stat results (following links) in order, or the error; many at a time, since one at a time is 5x slower. */
async function statAll(files: string[]): Promise<(Stats | NodeJS.ErrnoException)[]> {
  const out: (Stats | NodeJS.ErrnoException)[] = [];
  for (const batch of byBudget(files, () => 0, 0, READ_BATCH_FILES)) out.push(...(await Promise.all(batch.map((f) => stat(f).catch((e: NodeJS.ErrnoException) => e)))));
  return out;
}

function tooLarge(size: number, max: number): string {
  return `it is larger (${size} bytes) than --max-manifest-file-size (${max} bytes)`;
}

type ReadResult = { text: string } | { refused: string } | { error: NodeJS.ErrnoException } | { gone: true } | { changing: true };

/**
 * Reads a regular file of at most `max` bytes. The checks are repeated on the open descriptor, so a file swapped
 * for a device or a bigger file after it was stat-ed is refused all the same, and no read goes past `max` + 1 bytes.
 * O_NONBLOCK: opening a named pipe must not wait for a writer.
 */
async function readBounded(file: string, max: number): Promise<ReadResult> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return isGone(e as NodeJS.ErrnoException) ? { gone: true } : { error: e as NodeJS.ErrnoException };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { refused: `it is ${kindOf(st)}, not a regular file` };
    if (st.size > max) return { refused: tooLarge(st.size, max) };
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      // It grew while being read: a half-written version is no version. Its events, or the next rescan, read it again.
      if (n === buf.length) return n > max ? { refused: tooLarge(n, max) } : { changing: true };
    }
    return { text: buf.toString('utf8', 0, n) };
  } catch (e) {
    return { error: e as NodeJS.ErrnoException };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Consecutive runs of at most `maxCount` items whose sizes add up to at most `maxSize` (an oversized item alone). */
function* byBudget<T>(items: T[], sizeOf: (item: T) => number, maxSize: number, maxCount: number): Generator<T[]> {
  let batch: T[] = [];
  let size = 0;
  for (const item of items) {
    const s = sizeOf(item);
    if (batch.length > 0 && (batch.length >= maxCount || size + s > maxSize)) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(item);
    size += s;
  }
  if (batch.length > 0) yield batch;
}
