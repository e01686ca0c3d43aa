// Watches manifest files and directories. fs.watch gives the speed (changes land in tens of milliseconds); a
// periodic rescan gives the guarantee, since inotify misses events on some filesystems and for renamed parents.
import { watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../../log.js';
import { parseManifestText } from './parse.js';
import type { Obj } from './parse.js';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;
const READ_BATCH_FILES = 64;
const READ_BATCH_BYTES = 1 << 20;

export interface ManifestEvent {
  /** Objects per file after this scan; a file whose latest version is malformed keeps its previous objects. */
  files: Map<string, Obj[]>;
}

interface FileState {
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

  constructor(
    roots: string[],
    private readonly log: Logger,
    private readonly onChange: (files: Map<string, Obj[]>) => void,
    private readonly rescanMs = 1000,
  ) {
    this.roots = roots.map((r) => resolve(r));
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
    try {
      const dirs = new Set<string>();
      const walked = new Set<string>();
      const listed: string[] = [];
      for (const root of this.roots) listed.push(...(await listFiles(root, this.log, dirs, walked)));
      const seen = new Set(listed);
      let changed = await this.refresh(listed);
      for (const file of [...this.state.keys()]) if (!seen.has(file)) changed = this.forget(file) || changed;
      this.walkedDirs = walked;
      if (this.watching) this.watchDirectories(dirs);
      return changed;
    } finally {
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
    // A new directory (or stranger) under a manifest name: walk everything.
    if (stats.some((st) => st !== undefined && !st.isFile())) return this.scan();
    return this.refresh(files, stats);
  }

  /** Reads and parses the files whose signature changed (or that are gone); true when any file's objects changed. */
  private async refresh(files: string[], known?: (Stats | undefined)[]): Promise<boolean> {
    const stats = known ?? (await statAll(files));
    const stale: { file: string; sig: string; size: number }[] = [];
    let changed = false;
    for (const [i, st] of stats.entries()) {
      const file = files[i]!;
      if (st === undefined) {
        changed = this.forget(file) || changed; // deleted between listing and stat
        continue;
      }
      const sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      if (this.state.get(file)?.sig !== sig) stale.push({ file, sig, size: st.size });
    }
    // Small files are read many at a time (one at a time is several times slower), but never more than about a
    // megabyte of text at once: at 10,000 Ingresses, holding every file's text before parsing would raise the peak
    // memory of the start by the size of the whole tree.
    for (const batch of byBudget(stale, (f) => f.size, READ_BATCH_BYTES, READ_BATCH_FILES)) {
      const texts = await Promise.all(
        batch.map(({ file }) =>
          readFile(file, 'utf8').catch((e: unknown) => {
            this.log.error({ component: 'manifests', file, err: (e as Error).message }, 'cannot read manifest file');
            return undefined;
          }),
        ),
      );
      for (const [i, { file, sig }] of batch.entries()) {
        const text = texts[i];
        texts[i] = undefined;
        if (text !== undefined) changed = this.take(file, sig, text) || changed;
      }
    }
    return changed;
  }

  /** Parses one file's text into the state; true when its objects changed. */
  private take(file: string, sig: string, text: string): boolean {
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
    if (!this.state.delete(file)) return false;
    this.sortedFiles = undefined;
    return true;
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

async function listFiles(root: string, log: Logger, dirs: Set<string>, walked: Set<string>): Promise<string[]> {
  let st;
  try {
    st = await stat(root);
  } catch {
    dirs.add(dirname(root)); // watch the parent, so that the root appearing later is noticed
    return [];
  }
  if (st.isFile()) {
    dirs.add(dirname(root));
    return [root];
  }
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    dirs.add(dir);
    walked.add(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      log.warn({ component: 'manifests', dir, err: (e as Error).message }, 'cannot list directory');
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // editor swap files and atomic-write temporaries
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && MANIFEST_EXT.test(e.name)) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/** Stat results in order, undefined for a path that is gone; many at a time, since one at a time is 5x slower. */
async function statAll(files: string[]): Promise<(Stats | undefined)[]> {
  const out: (Stats | undefined)[] = [];
  for (const batch of byBudget(files, () => 0, 0, READ_BATCH_FILES)) out.push(...(await Promise.all(batch.map((f) => stat(f).catch(() => undefined)))));
  return out;
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
