// The pipeline driver: snapshot -> translate -> apply, one run at a time, bursts coalesced.
import type { Logger } from './log.js';
import type { Diagnostic, RoutingModel, TranslateResult } from './model/types.js';
import { Translator } from './translate/translate.js';
import { validityDiagnostics } from './translate/certificate-validity.js';
import type { Snapshot, TranslateOptions } from './translate/translate.js';
import type { Applier } from './haproxy/apply.js';
import type { Metrics } from './admin/metrics.js';

export interface ControllerOptions {
  translate: TranslateOptions;
  metrics?: Metrics;
  /** Called after every sync that left a configuration live: status and events are reported from here. */
  onLive?: (result: TranslateResult, newDiagnostics: Diagnostic[]) => void;
}

const EMPTY_MODEL: RoutingModel = { hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [] };
/** A model that failed to apply is tried again after these delays (the last one repeats) until it goes live. */
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];
/** Certificates expire while nothing changes: the last snapshot is synced again this often, which reports them. */
const VALIDITY_RECHECK_MS = 3600_000;

export class Controller {
  private pending: Snapshot | undefined;
  /** When the oldest change not yet live was observed: the start of portico_config_apply_duration_seconds. */
  private observedAt: number | undefined;
  private running: Promise<void> | undefined;
  private readonly translator: Translator;
  private reported = new Set<string>();
  private lastSnapshot: Snapshot | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** When the oldest change waiting for a rate-limited reload was observed. */
  private deferredSince: number | undefined;
  /** Owned, valid Ingresses in the last translation. */
  private owned = 0;
  private readonly validityTimer = setInterval(() => {
    if (this.lastSnapshot && !this.pending) void this.submit(this.lastSnapshot);
  }, VALIDITY_RECHECK_MS).unref();
  last: TranslateResult | undefined;

  constructor(
    private readonly o: ControllerOptions,
    private readonly applier: Applier,
    private readonly log: Logger,
  ) {
    this.translator = new Translator(o.translate);
  }

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

  stop(): void {
    clearTimeout(this.retryTimer);
    clearInterval(this.validityTimer);
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
    this.lastSnapshot = snapshot;
    clearTimeout(this.retryTimer);
    const result = this.translator.update(snapshot);
    if (result.model.ingresses !== this.last?.model.ingresses) this.countIngresses(result.model.ingresses);
    this.last = result;
    const fresh = this.report([...result.diagnostics, ...validityDiagnostics(result.model.certificates, Date.now())]);
    const translated = performance.now();
    const outcome = await this.applier.apply(result.model);
    if (outcome.deferredMs !== undefined) {
      // Reloads are rate-limited: whatever is newest when the window ends goes live in one reload.
      this.deferredSince ??= observedAt;
      this.resubmitAfter(outcome.deferredMs);
      return;
    }
    if (outcome.via) observedAt = Math.min(observedAt, this.deferredSince ?? observedAt);
    this.deferredSince = undefined;
    if (!outcome.applied) {
      this.retryLater();
      if (this.applier.isLive) {
        this.log.error({ component: 'controller', err: outcome.error }, 'configuration not applied; the last good configuration stays live');
        return;
      }
      // Nothing is serving yet: serve an empty configuration (404 everywhere) rather than nothing at all. The real
      // model is not live, so it is retried and nothing is reported as live.
      this.log.error({ component: 'controller', err: outcome.error }, 'first configuration failed; starting with no routes');
      const empty = await this.applier.apply(EMPTY_MODEL);
      if (!empty.applied) this.log.error({ component: 'controller', err: empty.error }, 'even an empty configuration failed; HAProxy is not serving');
      return;
    }
    this.failures = 0;
    if (outcome.via) this.o.metrics?.applyDuration.observe((performance.now() - observedAt) / 1000);
    this.o.onLive?.(result, fresh);
    if (!outcome.via) return;
    this.log[outcome.via === 'runtime' ? 'debug' : 'info'](
      { component: 'controller', via: outcome.via, ms: Math.round(performance.now() - started), translateMs: Math.round(translated - started), waitedMs: Math.round(started - observedAt), ingresses: this.owned, hostGroups: result.model.hostGroups.length, backends: result.model.backends.length },
      'configuration live',
    );
  }

  private countIngresses(list: TranslateResult['model']['ingresses']): void {
    let valid = 0;
    let invalid = 0;
    for (const i of list) {
      if (!i.valid) invalid++;
      else if (i.owned) valid++;
    }
    this.owned = valid;
    this.o.metrics?.ingresses.set({ state: 'valid' }, valid);
    this.o.metrics?.ingresses.set({ state: 'invalid' }, invalid);
  }

  private retryLater(): void {
    this.resubmitAfter(RETRY_DELAYS_MS[Math.min(this.failures++, RETRY_DELAYS_MS.length - 1)]!);
  }

  private resubmitAfter(ms: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.lastSnapshot && !this.pending) void this.submit(this.lastSnapshot);
    }, ms);
    this.retryTimer.unref();
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
