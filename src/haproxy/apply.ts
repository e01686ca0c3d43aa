// apply: puts rendered artefacts live. Each candidate is written to a fresh generation directory and checked with
// `haproxy -c`; only then does it replace the live configuration (atomic rename) and HAProxy reloads hitlessly.
// A candidate that fails the check leaves the last good configuration serving.
import { mkdir, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import { ADMIN_SOCKET } from './render/render.js';
import type { Artefacts } from './render/render.js';
import { cliCommand } from './process/master-cli.js';
import type { HaproxySupervisor } from './process/supervisor.js';
import type { Metrics } from '../admin/metrics.js';

export interface ApplyOutcome {
  applied: boolean;
  error?: string;
}

export class Applier {
  private generation = 0;
  private live: { dir: string; config: string; files: Map<string, string> } | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly supervisor: HaproxySupervisor,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  get configPath(): string {
    return join(this.stateDir, 'haproxy.cfg');
  }

  get isLive(): boolean {
    return this.live !== undefined;
  }

  /** Where the live configuration's maps and certificates are: a candidate rendered there can be compared. */
  get liveDir(): string | undefined {
    return this.live?.dir;
  }

  /**
   * Applies a change that touches only map files through the runtime API, without a reload: each changed map is
   * replaced atomically (`prepare map`, `add map @version` in payload chunks, `commit map`), then written to disk
   * so that a restart loads the same. Returns undefined when the change needs a reload (configuration text or
   * certificates differ) or the runtime API failed: the caller then takes the reload path.
   */
  async applyRuntime(a: Artefacts): Promise<ApplyOutcome | undefined> {
    const live = this.live;
    if (!live || a.config !== live.config) return undefined;
    const changed: string[] = [];
    for (const [rel, content] of a.files) {
      if (live.files.get(rel) === content) continue;
      if (!rel.startsWith('maps/')) return undefined;
      changed.push(rel);
    }
    for (const rel of live.files.keys()) if (!a.files.has(rel)) return undefined; // a file went away: not a map edit
    if (changed.length === 0) return { applied: true };
    try {
      for (const rel of changed) await this.replaceMap(join(live.dir, rel), a.files.get(rel)!);
    } catch (e) {
      this.log.warn({ component: 'apply', err: (e as Error).message }, 'runtime map update failed; reloading instead');
      return undefined;
    }
    for (const rel of changed) await writeFile(join(live.dir, rel), a.files.get(rel)!);
    this.live = { ...live, files: a.files };
    this.metrics?.runtimeUpdates.inc();
    return { applied: true };
  }

  private async replaceMap(path: string, content: string): Promise<void> {
    const sock = join(this.stateDir, ADMIN_SOCKET);
    const prepared = await cliCommand(sock, `prepare map ${path}`);
    const version = /New version created: (\d+)/.exec(prepared)?.[1];
    if (!version) throw new Error(`prepare map ${path}: ${prepared.trim()}`);
    // The CLI reads a payload into one buffer (tune.bufsize, 16 kB): send the entries in chunks below that.
    let chunk = '';
    const flush = async (): Promise<void> => {
      if (chunk === '') return;
      // The chunk ends with a newline; cliCommand's own newline makes the empty line that ends the payload.
      const out = await cliCommand(sock, `add map @${version} ${path} <<\n${chunk}`);
      if (out.trim() !== '') throw new Error(`add map ${path}: ${out.trim()}`);
      chunk = '';
    };
    for (const line of content.split('\n')) {
      if (line === '') continue;
      if (chunk.length + line.length > 8000) await flush();
      chunk += `${line}\n`;
    }
    await flush();
    const committed = await cliCommand(sock, `commit map @${version} ${path}`);
    if (committed.trim() !== '') throw new Error(`commit map ${path}: ${committed.trim()}`);
  }

  /** The directory the next candidate goes to: render needs it for the paths it writes into the configuration. */
  nextGenerationDir(): string {
    return join(this.stateDir, 'gen', String(this.generation + 1));
  }

  async apply(a: Artefacts, dir: string): Promise<ApplyOutcome> {
    this.generation++;
    await rm(dir, { recursive: true, force: true });
    for (const [rel, content] of a.files) {
      const p = join(dir, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content, { mode: rel.endsWith('.pem') ? 0o600 : 0o644 });
    }
    const candidate = join(dir, 'haproxy.cfg');
    await writeFile(candidate, a.config);
    const check = await this.supervisor.check(candidate);
    if (!check.ok) {
      this.metrics?.rejected.inc();
      await rm(dir, { recursive: true, force: true });
      return { applied: false, error: `haproxy -c rejected the candidate configuration: ${check.output}` };
    }
    const tmp = `${this.configPath}.tmp`;
    await writeFile(tmp, a.config);
    await rename(tmp, this.configPath);
    const previous = this.live;
    try {
      if (previous) {
        await this.supervisor.reload();
        this.metrics?.reloads.inc();
      } else await this.supervisor.start();
    } catch (e) {
      this.metrics?.rejected.inc();
      return { applied: false, error: (e as Error).message };
    }
    this.live = { dir, config: a.config, files: a.files };
    await this.prune(dir, previous?.dir);
    return { applied: true };
  }

  /** Keep the previous generation: its old worker may still be finishing connections when the new one starts. */
  private async prune(current: string, previous: string | undefined): Promise<void> {
    const genRoot = join(this.stateDir, 'gen');
    const keep = new Set([current, previous].filter(Boolean));
    for (const name of await readdir(genRoot).catch(() => [] as string[])) {
      const p = join(genRoot, name);
      if (!keep.has(p)) await rm(p, { recursive: true, force: true }).catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot prune'));
    }
  }
}
