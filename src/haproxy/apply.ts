// apply: puts a routing model live in HAProxy. Routine changes go through the runtime API (see runtime/plan.ts),
// with no reload. A structural change (a new ExternalName Service, no spare backend section left) or a failed
// runtime operation renders a fresh configuration into a new generation directory, checks it with `haproxy -c`, and
// reloads hitlessly; a candidate that fails the check leaves the last good configuration serving, and says so
// (`rejected`), so that the controller can find the objects to blame (see ../isolate.ts) with `check`.
import { copyFile, mkdir, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log.js';
import type { RoutingModel } from '../model/types.js';
import { HOP_SOCKET } from './render/passthrough.js';
import { ADMIN_SOCKET, defaultCertificatePem, featuresInUse, render, spareName, stickySpares, tcpSpares } from './render/render.js';
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
import { createHash } from 'node:crypto';
import { countByKind, reloadReasonClass } from '../admin/reasons.js';

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
  /** The generation `haproxy.cfg` names, and the model it was rendered from: what a restarted HAProxy runs. */
  private onDisk: { model: RoutingModel; gen: Generation } | undefined;
  /** The generation live before the current one: its old workers may still be draining. */
  private previousDir: string | undefined;
  /** After a restart from an older generation: the model HAProxy must be brought up to date with. */
  private behind: RoutingModel | undefined;
  /** The state as HAProxy has it right after reading `onDisk`: while this.state is still this very object, nothing
   * changed at runtime since, and a restart needs no fresh rendering. */
  private stateOnDisk: RuntimeState | undefined;
  private catchUpTimer: NodeJS.Timeout | undefined;
  private catchUpFailures = 0;

  constructor(
    private readonly o: ApplierOptions,
    private readonly supervisor: HaproxySupervisor,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    // HAProxy restarted after a crash reads the configuration from disk, which lacks every runtime change since the
    // last reload: render the live model afresh for it first, and bring it up to date after when that failed. The
    // whole restart is one step of the queue, so that no apply meets a HAProxy half-way.
    supervisor.beforeRestart = () => this.rewriteForRestart();
    supervisor.afterRestart = () => this.catchUp();
    supervisor.serialize = (fn) => this.exclusive(fn);
  }

  get configPath(): string {
    return join(this.o.stateDir, 'haproxy.cfg');
  }

  /** The unix sockets of the live configuration's internal listeners, for the supervisor's health check. */
  get listenerSockets(): string[] {
    return this.state?.layout.features.has('passthrough') ? [join(this.o.stateDir, HOP_SOCKET)] : [];
  }

  get isLive(): boolean {
    return this.state !== undefined;
  }

  /** What HAProxy serves now and which section serves which backend: the metrics name HAProxy's sections by it. */
  get live(): RuntimeState | undefined {
    return this.state;
  }

  /**
   * HAProxy was restarted from an older generation (a fresh one could not be written) and does not serve the live
   * model yet: it may answer with routes, endpoints and certificates the sources no longer have. Not ready, then.
   */
  get isBehind(): boolean {
    return this.behind !== undefined;
  }

  apply(model: RoutingModel): Promise<ApplyOutcome> {
    return this.exclusive(async () => {
      const outcome = await this.applyNow(model);
      // The newest model is live: whatever a restart from an older generation had left to catch up with is too.
      if (outcome.applied && this.behind) this.caughtUp(outcome.via);
      return outcome;
    });
  }

  private caughtUp(via: ApplyOutcome['via']): void {
    this.behind = undefined;
    this.catchUpFailures = 0;
    clearTimeout(this.catchUpTimer);
    this.log.info({ component: 'apply', via }, 'HAProxy is up to date with the live model again');
  }

  stop(): void {
    clearInterval(this.retryTimer);
    clearTimeout(this.catchUpTimer);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(model: RoutingModel): Promise<ApplyOutcome> {
    const state = this.state;
    if (!state) return this.reload(model, 'start');
    // HAProxy died and its restart has not begun (the restart itself holds the queue): there is no runtime API to
    // talk to, and a forced reload would wait for a generation that a full disk may never let be written. The
    // restart brings back the live model; this change follows it.
    if (this.supervisor.isRecovering) return { applied: false, deferredMs: RECOVERY_RETRY_MS };
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
    this.metrics?.runtimeApplied(countByKind(p.ops));
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
  private async adopt(model: RoutingModel, gen: Generation, previous: string | undefined): Promise<void> {
    this.mustReload = undefined;
    this.pending.clear();
    this.state = freshState(model, gen, this.o.defaultCertPem);
    if (this.onDisk?.gen === gen) this.stateOnDisk = this.state;
    this.previousDir = previous;
    await this.prune();
  }

  /**
   * Renders `model` into a new generation directory. A write that fails (a full disk) removes what it wrote, so no
   * partial directory is left behind; leftovers of earlier failures are removed first, so that the state directory
   * never holds more than the generations in use and this one.
   */
  private async writeGeneration(model: RoutingModel): Promise<Generation> {
    await this.prune();
    this.generation++;
    const dir = join(this.o.stateDir, 'gen', String(this.generation));
    const began = performance.now();
    const { artefacts, spares } = this.render(model, dir);
    this.metrics?.renderDuration.observe((performance.now() - began) / 1000);
    try {
      await writeArtefacts(dir, artefacts);
    } catch (e) {
      await rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.log.warn({ component: 'apply', dir, err: String(err) }, 'cannot remove a partly written generation'));
      throw new Error(`cannot write generation ${dir}: ${(e as Error).message}`);
    }
    return { dir, spares, hash: configHash(artefacts.config) };
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
    const began = performance.now();
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
      this.metrics?.reloadFailed();
      await rm(gen.dir, { recursive: true, force: true });
      return { applied: false, rejected: true, error: `haproxy -c rejected the candidate configuration: ${check.output}` };
    }
    await this.install(model, gen);
    const previous = this.state?.layout.filesDir;
    try {
      if (starting) await this.supervisor.start();
      else {
        this.log.info({ component: 'apply', reason }, 'reloading HAProxy');
        await this.supervisor.reload();
      }
    } catch (e) {
      this.metrics?.reloadFailed();
      const output = e instanceof HaproxyError && e.output ? `: ${e.output}` : '';
      return { applied: false, rejected: true, error: `${(e as Error).message}${output}` };
    }
    this.lastReloadAt = performance.now();
    this.metrics?.reloaded(starting ? 'start' : reloadReasonClass(reason), gen.hash, (this.lastReloadAt - began) / 1000, starting);
    this.metrics?.generation.set(this.generation);
    await this.adopt(model, gen, previous);
    return { applied: true, via: starting ? 'start' : 'reload' };
  }

  /** Makes generation `gen` the configuration HAProxy reads on its next reload or restart (an atomic rename). */
  private async install(model: RoutingModel, gen: Generation): Promise<void> {
    const tmp = `${this.configPath}.tmp`;
    try {
      await copyFile(join(gen.dir, 'haproxy.cfg'), tmp);
      await rename(tmp, this.configPath);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
    this.onDisk = { model, gen };
    this.stateOnDisk = undefined; // until adopted: HAProxy may not run it yet (a reload can still fail)
  }

  /**
   * Before HAProxy restarts after a crash: render the live model (runtime changes included) into a fresh generation.
   * When that fails (a full disk), HAProxy restarts from the generation on disk, which is complete, and is brought
   * up to date afterwards through the runtime API, or a reload once a generation can be written (see catchUp).
   */
  private async rewriteForRestart(): Promise<void> {
    const state = this.state;
    // Nothing changed at runtime since haproxy.cfg was written (or an earlier attempt wrote it): restart from it as it is.
    if (!state || (state === this.stateOnDisk && !this.behind)) return;
    clearTimeout(this.catchUpTimer);
    // After an earlier restart from an older generation, the live model is the one still to catch up with.
    const live = this.behind ?? state.model;
    try {
      const gen = await this.writeGeneration(live);
      await this.install(live, gen);
      await this.adopt(live, gen, undefined);
      this.behind = undefined;
      return;
    } catch (e) {
      if (!this.onDisk) throw e;
      this.log.error(
        { component: 'apply', err: (e as Error).message, generation: this.onDisk.gen.dir },
        'cannot render a fresh configuration for the restart; restarting HAProxy from the last complete generation on disk, then bringing it up to date',
      );
    }
    this.behind = live;
    this.mustReload = undefined;
    this.pending.clear();
    this.state = freshState(this.onDisk.model, this.onDisk.gen, this.o.defaultCertPem);
    this.stateOnDisk = this.state;
  }

  /** After a restart from an older generation: apply the model that was live, as any change would be applied. */
  private async catchUp(): Promise<void> {
    const target = this.behind;
    if (!target || !this.state) return;
    // Any change applied since (the controller's) replaced the state, and superseded the catch-up.
    if (this.state !== this.stateOnDisk) {
      this.caughtUp(undefined);
      return;
    }
    let outcome: ApplyOutcome;
    try {
      outcome = await this.applyNow(target);
    } catch (e) {
      outcome = { applied: false, error: (e as Error).message };
    }
    if (outcome.applied) {
      this.caughtUp(outcome.via);
      return;
    }
    const delay = outcome.deferredMs ?? CATCH_UP_DELAYS_MS[Math.min(this.catchUpFailures++, CATCH_UP_DELAYS_MS.length - 1)]!;
    if (outcome.error) this.log.warn({ component: 'apply', err: outcome.error, retryInMs: delay }, 'cannot yet bring the restarted HAProxy up to date; it serves the last complete generation meanwhile');
    clearTimeout(this.catchUpTimer);
    this.catchUpTimer = setTimeout(() => void this.exclusive(() => this.catchUp()), delay);
    this.catchUpTimer.unref();
  }

  /**
   * Removes every generation directory not in use. In use: the live one, the one before it, the one `haproxy.cfg`
   * names (they differ only after a reload that failed): at most three. Anything else under gen/ is a leftover: a
   * rejected candidate, a partial write, an earlier run's.
   */
  private async prune(): Promise<void> {
    const genRoot = join(this.o.stateDir, 'gen');
    const inUse = new Set([this.state?.layout.filesDir, this.previousDir, this.onDisk?.gen.dir]);
    for (const name of await readdir(genRoot).catch(() => [] as string[])) {
      const p = join(genRoot, name);
      if (!inUse.has(p)) await rm(p, { recursive: true, force: true }).catch((e: unknown) => this.log.warn({ component: 'apply', dir: p, err: String(e) }, 'cannot remove an unused generation directory'));
    }
  }
}

interface Generation {
  dir: string;
  spares: number;
  /** Identifies the configuration text (ingress-nginx's config_hash): 48 bits, which a float64 holds exactly. */
  hash: number;
}

function configHash(text: string): number {
  return parseInt(createHash('sha256').update(text).digest('hex').slice(0, 12), 16);
}

const CATCH_UP_DELAYS_MS = [1000, 2000, 5000, 10_000];
/** While HAProxy is being restarted, a change is submitted again after this long. */
const RECOVERY_RETRY_MS = 100;

/** What HAProxy holds right after it read generation `gen`: no runtime change yet. */
function freshState(model: RoutingModel, gen: Generation, generatedDefaultCertPem: string): RuntimeState {
  return {
    layout: { filesDir: gen.dir, named: new Map(model.backends.map((b) => [b.name, externalKey(b)])), features: featuresInUse(model) },
    model,
    bound: new Map(),
    free: [...Array.from({ length: gen.spares }, (_, i) => spareName(i)), ...stickySpares(model), ...tcpSpares(model)],
    defaultCertPem: defaultCertificatePem(model, generatedDefaultCertPem),
  };
}

async function writeArtefacts(dir: string, artefacts: Artefacts): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (const [rel, content] of artefacts.files) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true, mode: 0o700 });
    await writeFile(p, content, { mode: rel.endsWith('.pem') ? 0o600 : 0o644 });
  }
  await writeFile(join(dir, 'haproxy.cfg'), artefacts.config, { mode: 0o600 });
}
