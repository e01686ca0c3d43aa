// apply: puts rendered artefacts live. Each candidate is written to a fresh generation directory and checked with
// `haproxy -c`; only then does it replace the live configuration (atomic rename) and HAProxy reloads hitlessly.
// A candidate that fails the check leaves the last good configuration serving.
import { mkdir, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { Artefacts } from './render/render.js';
import type { HaproxySupervisor } from './process/supervisor.js';
import type { Metrics } from '../admin/metrics.js';

export interface ApplyOutcome {
  applied: boolean;
  error?: string;
}

export class Applier {
  private generation = 0;
  private live: { dir: string } | undefined;

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
    this.live = { dir };
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
