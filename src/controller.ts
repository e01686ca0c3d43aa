// The pipeline driver: snapshot -> translate -> render -> apply, one run at a time, bursts coalesced.
import type { Logger } from './log.js';
import type { Diagnostic, RoutingModel, TranslateResult } from './model/types.js';
import { translate } from './translate/translate.js';
import type { Snapshot, TranslateOptions } from './translate/translate.js';
import { render } from './haproxy/render/render.js';
import type { RenderOptions } from './haproxy/render/render.js';
import type { Applier } from './haproxy/apply.js';
import type { Metrics } from './admin/metrics.js';

export interface ControllerOptions {
  translate: TranslateOptions;
  render: Omit<RenderOptions, 'filesDir'>;
  defaultCertPem: string;
  metrics?: Metrics;
  /** Called after every sync that left a configuration live: status and events are reported from here. */
  onLive?: (result: TranslateResult, newDiagnostics: Diagnostic[]) => void;
}

const EMPTY_MODEL: RoutingModel = { hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [] };

export class Controller {
  private pending: Snapshot | undefined;
  /** When the oldest change not yet live was observed: the start of portico_config_apply_duration_seconds. */
  private observedAt: number | undefined;
  private running: Promise<void> | undefined;
  private liveModelJson: string | undefined;
  private reported = new Set<string>();
  last: TranslateResult | undefined;

  constructor(
    private readonly o: ControllerOptions,
    private readonly applier: Applier,
    private readonly log: Logger,
  ) {}

  /** Queues a snapshot; if a sync is running, only the newest queued snapshot runs after it. */
  submit(snapshot: Snapshot): Promise<void> {
    this.pending = snapshot;
    this.observedAt ??= performance.now();
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const snap = this.pending;
      const observedAt = this.observedAt ?? performance.now();
      this.pending = undefined;
      this.observedAt = undefined;
      try {
        await this.sync(snap, observedAt);
      } catch (e) {
        this.log.error({ component: 'controller', err: (e as Error).stack ?? String(e) }, 'sync failed; the last good configuration stays live');
      }
    }
  }

  private async sync(snapshot: Snapshot, observedAt: number): Promise<void> {
    const started = performance.now();
    const result = translate(snapshot, this.o.translate);
    this.last = result;
    this.o.metrics?.ingresses.set({ state: 'valid' }, result.model.ingresses.filter((i) => i.owned && i.valid).length);
    this.o.metrics?.ingresses.set({ state: 'invalid' }, result.model.ingresses.filter((i) => !i.valid).length);
    const fresh = this.report(result.diagnostics);
    const modelJson = JSON.stringify(result.model);
    if (modelJson === this.liveModelJson) {
      this.o.onLive?.(result, fresh);
      return;
    }
    const outcome = await this.applyModel(result.model);
    if (!outcome.applied && !this.applier.isLive) {
      // Nothing is serving yet: serve an empty configuration (404 everywhere) rather than nothing at all. The real
      // model is not live, so it is retried on the next change and nothing is reported as live.
      this.log.error({ component: 'controller', err: outcome.error }, 'first configuration failed; starting with no routes');
      const empty = await this.applyModel(EMPTY_MODEL);
      if (empty.applied) this.liveModelJson = JSON.stringify(EMPTY_MODEL);
      else this.log.error({ component: 'controller', err: empty.error }, 'even an empty configuration failed; HAProxy is not serving');
      return;
    }
    if (!outcome.applied) {
      this.log.error({ component: 'controller', err: outcome.error }, 'configuration not applied; the last good configuration stays live');
      return;
    }
    this.liveModelJson = modelJson;
    this.o.metrics?.applyDuration.observe((performance.now() - observedAt) / 1000);
    this.o.onLive?.(result, fresh);
    const owned = result.model.ingresses.filter((i) => i.owned).length;
    this.log.info(
      { component: 'controller', ms: Math.round(performance.now() - started), ingresses: owned, hostGroups: result.model.hostGroups.length, backends: result.model.backends.length },
      'configuration live',
    );
  }

  private async applyModel(model: RoutingModel): Promise<{ applied: boolean; error?: string }> {
    // Rendered into the live directory, a change that differs only in map files is applied without a reload.
    const liveDir = this.applier.liveDir;
    if (liveDir) {
      try {
        const runtime = await this.applier.applyRuntime(render(model, { ...this.o.render, filesDir: liveDir }, this.o.defaultCertPem));
        if (runtime) return runtime;
      } catch (e) {
        return { applied: false, error: (e as Error).message };
      }
    }
    const filesDir = this.applier.nextGenerationDir();
    let artefacts;
    try {
      artefacts = render(model, { ...this.o.render, filesDir }, this.o.defaultCertPem);
    } catch (e) {
      return { applied: false, error: (e as Error).message };
    }
    return this.applier.apply(artefacts, filesDir);
  }

  /** One log line per diagnostic when it appears, not on every sync; returns the ones that appeared. */
  private report(diagnostics: Diagnostic[]): Diagnostic[] {
    const fresh: Diagnostic[] = [];
    const now = new Set<string>();
    for (const d of diagnostics) {
      const key = JSON.stringify(d);
      now.add(key);
      if (this.reported.has(key)) continue;
      fresh.push(d);
      this.log[d.level === 'error' ? 'error' : 'warn']({ component: 'translate', object: d.object, field: d.field, rule: d.rule }, `${d.object}: ${d.field}: ${d.message} (rule ${d.rule})`);
    }
    this.reported = now;
    return fresh;
  }
}
