// Watches manifest files and directories. fs.watch gives the speed (changes land in tens of milliseconds); a
// periodic rescan gives the guarantee, since inotify misses events on some filesystems and for renamed parents.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../../log.js';
import { parseManifestText } from './parse.js';
import type { Obj } from './parse.js';

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

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
    this.timer = setInterval(() => this.kick(0), this.rescanMs);
    this.timer.unref();
    return this.snapshot();
  }

  stop(): void {
    this.watching = false;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  /** The objects of every file as last read. */
  snapshot(): Map<string, Obj[]> {
    return new Map([...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, s]) => [f, s.objects]));
  }

  /** Editors write in bursts (temp file, rename, chmod): wait for the burst to settle. */
  private kick(delayMs = 3): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      void this.rescan();
    }, delayMs);
  }

  private async rescan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scan()
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
    const seen = new Set<string>();
    const dirs = new Set<string>();
    let changed = false;
    for (const root of this.roots) {
      for (const file of await listFiles(root, this.log, dirs)) {
        seen.add(file);
        let st;
        try {
          st = await stat(file);
        } catch {
          continue; // deleted between listing and stat
        }
        const sig = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
        const prev = this.state.get(file);
        if (prev?.sig === sig) continue;
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (e) {
          this.log.error({ component: 'manifests', file, err: (e as Error).message }, 'cannot read manifest file');
          continue;
        }
        const parsed = parseManifestText(text);
        if (!parsed.ok) {
          const pos = parsed.line !== undefined ? `:${parsed.line}:${parsed.column ?? 0}` : '';
          this.log.error(
            { component: 'manifests', file, line: parsed.line, column: parsed.column, rule: 'manifest-syntax' },
            `malformed manifest ${file}${pos}: ${parsed.error}; keeping the objects it held before`,
          );
          // Remember the signature so the same broken version is reported once, but keep the old objects.
          this.state.set(file, { sig, objects: prev?.objects ?? [] });
          continue;
        }
        this.state.set(file, { sig, objects: parsed.objects });
        changed = true;
      }
    }
    for (const file of [...this.state.keys()]) {
      if (!seen.has(file)) {
        this.state.delete(file);
        changed = true;
      }
    }
    if (this.watching) this.watchDirectories(dirs);
    return changed;
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
        const w = watch(dir, { persistent: false }, () => this.kick());
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

async function listFiles(root: string, log: Logger, dirs: Set<string>): Promise<string[]> {
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
