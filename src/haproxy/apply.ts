// apply: puts a routing model live in HAProxy. Routine changes go through the runtime API (see runtime/plan.ts),
// with no reload. A structural change (a new ExternalName Service, no spare backend section left) or a failed
// runtime operation renders a fresh configuration into a new generation directory, checks it with `haproxy -c`, and
// reloads hitlessly; a candidate that fails the check leaves the last good configuration serving, and says so
// (`rejected`), so that the controller can find the objects to blame (see ../isolate.ts) with `check`.
import { copyFile, mkdir, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { RoutingModel } from '../model/types.js';
import { ADMIN_SOCKET, defaultCertificatePem, render, spareName } from './render/render.js';
import type { Artefacts, RenderOptions } from './render/render.js';
import { RuntimeCli } from './process/runtime-cli.js';
import { HaproxyError } from './process/supervisor.js';
import type { HaproxySupervisor } from './process/supervisor.js';
import type { Metrics } from '../admin/metrics.js';
import { externalKey, plan } from './runtime/plan.js';
import type { RuntimeState } from './runtime/plan.js';
import { deleteServer, execute } from './runtime/execute.js';
import { RENDER_REFUSED } from '../isolate.js';
import type { PendingDeletes } from './runtime/execute.js';

export interface ApplyOutcome {
  applied: boolean;
  /** How the change went live; absent when nothing had to change. */
  via?: 'runtime' | 'reload' | 'start';
  /** The change needs a reload, and the last one was less than --reload-interval ago: submit again after this. */
  deferredMs?: number;
  /** HAProxy (`haproxy -c`, the start or the reload) or render's own checks refused this model: an object may be to
   * blame. Not set for failures no model could cause (a full disk). */
  rejected?: boolean;
  error?: string;
}

/** render's re-check of a token failed: the model holds a value that must not reach HAProxy. */
class RenderRefused extends Error {}

export interface ApplierOptions {
  stateDir: string;
  render: Omit<RenderOptions, 'filesDir' | 'spareBackends'>;
  /** PEM of the generated certificate served when no other matches. */
  defaultCertPem: string;
  /** Fewest spare backend sections a configuration carries; with many Services, one spare per ten (each empty
   * section costs HAProxy about 12 kB and a little start-up time). */
  minSpareBackends: number;
  /** Reloads are at least this far apart: under churn, later changes wait and go live together. */
  reloadIntervalMs: number;
}

export class Applier {
  private generation = 0;
  private state: RuntimeState | undefined;
  private readonly pending: PendingDeletes = new Set();
  private lastReloadAt = -Infinity;
  /** Set when runtime operations failed half-way: HAProxy's state is unknown until the next reload. */
  private mustReload: string | undefined;
  /** Serialises applies, restarts and the retries of pending server deletions. */
  private queue: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: ApplierOptions,
    private readonly supervisor: HaproxySupervisor,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    // HAProxy restarted after a crash reads the configuration from disk, which lacks every runtime change since the
    // last reload: render the live model afresh for it first.
    supervisor.beforeRestart = () => this.exclusive(() => this.rewriteForRestart());
  }

  get configPath(): string {
    return join(this.o.stateDir, 'haproxy.cfg');
  }

  get isLive(): boolean {
    return this.state !== undefined;
  }

  apply(model: RoutingModel): Promise<ApplyOutcome> {
    return this.exclusive(() => this.applyNow(model));
  }

  stop(): void {
    clearInterval(this.retryTimer);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(model: RoutingModel): Promise<ApplyOutcome> {
    const state = this.state;
    if (!state) return this.reload(model, 'start');
    if (this.mustReload) return this.reload(model, this.mustReload, true);
    let p;
    try {
      p = plan(state, model, this.o.defaultCertPem);
    } catch (e) {
      // render's checks, which plan shares, refused a value: fail closed, like a candidate HAProxy rejects.
      return { applied: false, rejected: true, error: (e as Error).message };
    }
    if ('reload' in p) return this.reload(model, p.reload);
    if (p.ops.length === 0) {
      this.state = p.next;
      return { applied: true };
    }
    try {
      await this.runtime((cli) => execute(cli, p.ops, this.pending, (file, content) => this.replaceMap(cli, file, content)));
    } catch (e) {
      // The runtime state is now unknown: a reload from the model is the way back to a known one.
      this.log.warn({ component: 'apply', err: (e as Error).message }, 'runtime update failed; reloading instead');
      this.mustReload = `runtime API failed earlier: ${(e as Error).message}`;
      return this.reload(model, this.mustReload, true);
    }
    this.state = p.next;
    this.metrics?.runtimeUpdates.inc();
    this.scheduleRetries();
    return { applied: true, via: 'runtime' };
  }

  private async runtime<T>(fn: (cli: RuntimeCli) => Promise<T>): Promise<T> {
    const cli = await RuntimeCli.open(join(this.o.stateDir, ADMIN_SOCKET));
    try {
      return await fn(cli);
    } finally {
      cli.close();
    }
  }

  private async replaceMap(cli: RuntimeCli, file: string, content: string): Promise<void> {
    const prepared = await cli.command(`prepare map ${file}`);
    const version = /New version created: (\d+)/.exec(prepared)?.[1];
    if (!version) throw new Error(`prepare map ${file}: ${prepared.trim()}`);
    // The CLI reads a payload into one buffer (tune.bufsize, 16 kB): send the entries in chunks below that.
    let chunk: string[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const out = await cli.command(`add map @${version} ${file}`, 5000, chunk.join('\n'));
      if (out.trim() !== '') throw new Error(`add map ${file}: ${out.trim()}`);
      chunk = [];
      size = 0;
    };
    for (const line of content.split('\n')) {
      if (line === '') continue;
      if (size + line.length > 8000) await flush();
      chunk.push(line);
      size += line.length + 1;
    }
    await flush();
    const committed = await cli.command(`commit map @${version} ${file}`);
    if (committed.trim() !== '') throw new Error(`commit map ${file}: ${committed.trim()}`);
  }

  /** Deletions refused while connections were attached are retried every second until they go through. */
  private scheduleRetries(): void {
    if (this.pending.size === 0 || this.retryTimer) return;
    this.retryTimer = setInterval(() => {
      void this.exclusive(async () => {
        if (this.pending.size > 0 && this.state) {
          await this.runtime(async (cli) => {
            for (const id of [...this.pending]) await deleteServer(cli, id, this.pending);
          }).catch((e: unknown) => this.log.debug({ component: 'apply', err: String(e) }, 'server deletion retry failed'));
        }
        if (this.pending.size === 0) {
          clearInterval(this.retryTimer);
          this.retryTimer = undefined;
        }
      });
    }, 1000);
    this.retryTimer.unref();
  }

  private render(model: RoutingModel, dir: string): { artefacts: Artefacts; spares: number } {
    const ordinary = model.backends.filter((b) => !b.externalName).length;
    const spares = Math.max(this.o.minSpareBackends, Math.ceil(ordinary / 10));
    try {
      return { artefacts: render(model, { ...this.o.render, filesDir: dir, spareBackends: spares }, this.o.defaultCertPem), spares };
    } catch (e) {
      throw new RenderRefused((e as Error).message);
    }
  }

  /** HAProxy now runs generation `gen`, rendered from `model`: runtime edits start again from there. */
  private async adopt(model: RoutingModel, gen: { dir: string; spares: number }, previous: string | undefined): Promise<void> {
    this.mustReload = undefined;
    this.pending.clear();
    this.state = {
      layout: { filesDir: gen.dir, named: new Map(model.backends.map((b) => [b.name, externalKey(b)])) },
      model,
      bound: new Map(),
      free: Array.from({ length: gen.spares }, (_, i) => spareName(i)),
      defaultCertPem: defaultCertificatePem(model, this.o.defaultCertPem),
    };
    await this.prune(gen.dir, previous);
  }

  private async writeGeneration(model: RoutingModel): Promise<{ dir: string; spares: number }> {
    this.generation++;
    const dir = join(this.o.stateDir, 'gen', String(this.generation));
    const { artefacts, spares } = this.render(model, dir);
    await writeArtefacts(dir, artefacts);
    return { dir, spares };
  }

  /**
   * `haproxy -c` on `model` rendered into a scratch directory; nothing live is touched. A model render refuses fails
   * too. Paths in the output are relative to the candidate's directory. Throws when the files cannot be written.
   */
  async check(model: RoutingModel): Promise<{ ok: boolean; output: string }> {
    const dir = join(this.o.stateDir, 'check');
    let artefacts;
    try {
      artefacts = this.render(model, dir).artefacts;
    } catch (e) {
      return { ok: false, output: `${RENDER_REFUSED}: ${(e as Error).message}` };
    }
    try {
      await writeArtefacts(dir, artefacts);
      const r = await this.supervisor.check(join(dir, 'haproxy.cfg'));
      return { ok: r.ok, output: r.output.split(`${dir}/`).join('') };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** `urgent`: HAProxy may be half-way through a change, so the reload does not wait for --reload-interval. */
  private async reload(model: RoutingModel, reason: string, urgent = false): Promise<ApplyOutcome> {
    const starting = this.state === undefined;
    const wait = this.lastReloadAt + this.o.reloadIntervalMs - performance.now();
    if (!starting && !urgent && wait > 0) return { applied: false, deferredMs: Math.ceil(wait) };
    let gen;
    try {
      gen = await this.writeGeneration(model);
    } catch (e) {
      // render refusing a value is the model's fault; a file that cannot be written is not.
      return { applied: false, rejected: e instanceof RenderRefused, error: (e as Error).message };
    }
    const candidate = join(gen.dir, 'haproxy.cfg');
    // Before a reload the candidate is checked, so that a bad one never disturbs the running HAProxy. At start there
    // is nothing to disturb: starting is the check, and skipping `haproxy -c` saves parsing a large configuration twice.
    const check = starting ? { ok: true, output: '' } : await this.supervisor.check(candidate);
    if (!check.ok) {
      this.metrics?.rejected.inc();
      await rm(gen.dir, { recursive: true, force: true });
      return { applied: false, rejected: true, error: `haproxy -c rejected the candidate configuration: ${check.output}` };
    }
    await this.install(candidate);
    const previous = this.state?.layout.filesDir;
    try {
      if (starting) await this.supervisor.start();
      else {
        this.log.info({ component: 'apply', reason }, 'reloading HAProxy');
        await this.supervisor.reload();
        this.metrics?.reloads.inc();
      }
    } catch (e) {
      this.metrics?.rejected.inc();
      const output = e instanceof HaproxyError && e.output ? `: ${e.output}` : '';
      return { applied: false, rejected: true, error: `${(e as Error).message}${output}` };
    }
    this.lastReloadAt = performance.now();
    await this.adopt(model, gen, previous);
    return { applied: true, via: starting ? 'start' : 'reload' };
  }

  private async install(candidate: string): Promise<void> {
    const tmp = `${this.configPath}.tmp`;
    await copyFile(candidate, tmp);
    await rename(tmp, this.configPath);
  }

  private async rewriteForRestart(): Promise<void> {
    const state = this.state;
    if (!state) return;
    const gen = await this.writeGeneration(state.model);
    await this.install(join(gen.dir, 'haproxy.cfg'));
    await this.adopt(state.model, gen, undefined);
  }

  /** Keep the previous generation: its old worker may still be finishing connections when the new one starts. */
  private async prune(current: string, previous: string | undefined): Promise<void> {
    const genRoot = join(this.o.stateDir, 'gen');
    const keep = new Set([current, previous].filter(Boolean));
    for (const name of await readdir(genRoot).catch(() => [] as string[])) {
      const p = join(genRoot, name);
      if (!keep.has(p)) await rm(p, { recursive: true, force: true }).catch((e: unknown) => this.log.warn({ err: String(e) }, 'cannot prune'));
    }
  }
}

async function writeArtefacts(dir: string, artefacts: Artefacts): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const [rel, content] of artefacts.files) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content, { mode: rel.endsWith('.pem') ? 0o600 : 0o644 });
  }
  await writeFile(join(dir, 'haproxy.cfg'), artefacts.config);
}
