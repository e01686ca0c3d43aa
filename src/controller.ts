// The pipeline driver: snapshot -> translate -> apply, one run at a time, bursts coalesced.
import type { Logger } from './log.js';
import type { Diagnostic, RoutingModel, TranslateResult } from './model/types.js';
import { Translator } from './translate/translate.js';
import { validityDiagnostics } from './translate/certificate-validity.js';
import type { Snapshot } from './k8s/kinds.js';
import type { TranslateOptions } from './translate/translate.js';
import type { Applier, ApplyOutcome } from './haproxy/apply.js';
import type { Metrics } from './admin/metrics.js';
import { Exclusions, TRANSLATE_FAILED, haproxyReason, isolate } from './isolate.js';
import type { CheckFn } from './isolate.js';
import { sortDiagnostics } from './translate/diagnostics.js';

export interface ControllerOptions {
  translate: TranslateOptions;
  metrics?: Metrics;
  /** Called after every sync that left a configuration live: status and events are reported from here. `snapshot`
   * is what `result` was translated from (objects HAProxy rejected included), so that status is written on exactly
   * the objects whose ownership was decided. */
  onLive?: (result: TranslateResult, newDiagnostics: Diagnostic[], snapshot: Snapshot) => void;
}

const EMPTY_MODEL: RoutingModel = { hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [] };
/** A model that failed to apply is tried again after these delays (the last one repeats) until it goes live. */
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];
/** Certificates expire while nothing changes: the last snapshot is synced again this often, which reports them. */
const VALIDITY_RECHECK_MS = 3600_000;
/** Isolations per sync: one finds every culprit when objects fail independently; the next ones are for a rest that
 * HAProxy rejects all the same (objects that fail only together). */
const MAX_ISOLATIONS_PER_SYNC = 3;

export class Controller {
  private pending: Snapshot | undefined;
  /** When the oldest change not yet live was observed: the start of portico_config_apply_duration_seconds. */
  private observedAt: number | undefined;
  private running: Promise<void> | undefined;
  private translator: Translator;
  private reported = new Set<string>();
  /** Diagnostics that appeared while no configuration went live (a deferred reload, a failed apply): handed to onLive
   * with the next one that does, so an Event is not lost because its sync waited for the reload window. */
  private unsent: Diagnostic[] = [];
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
  /** Objects left out because HAProxy rejected them (see isolate.ts). */
  private readonly exclusions = new Exclusions();
  /** The input (exclusions left out) of the configuration live now: what isolation compares a rejected one with. */
  private lastGood: Snapshot | undefined;
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
        this.o.metrics?.syncErrors.inc({ stage: 'internal' });
        this.log.error({ component: 'controller', err: (e as Error).stack ?? String(e) }, 'sync failed; the last good configuration stays live');
      }
    }
  }

  private async sync(snapshot: Snapshot, observedAt: number): Promise<void> {
    const started = performance.now();
    this.lastSnapshot = snapshot;
    clearTimeout(this.retryTimer);
    let input = this.exclusions.filter(snapshot);
    let attempt = await this.attempt(input);
    const translated = started + attempt.translateMs;
    // HAProxy (or render, or translate) refused the candidate: leave out the objects to blame and apply the rest,
    // instead of holding every later change back behind them.
    for (let round = 0; attempt.outcome.rejected && round < MAX_ISOLATIONS_PER_SYNC; round++) {
      if (!(await this.isolate(input, attempt.outcome))) break;
      input = this.exclusions.filter(snapshot);
      attempt = await this.attempt(input);
    }
    const { result: translatedResult, outcome } = attempt;
    this.o.metrics?.excluded.set(this.exclusions.size);
    if (!translatedResult) {
      this.o.metrics?.syncErrors.inc({ stage: 'translate' });
      this.log.error({ component: 'controller', err: outcome.error }, 'cannot translate; the last good configuration stays live');
      this.retryLater();
      return;
    }
    const result = this.exclusions.size === 0 ? translatedResult : { model: translatedResult.model, diagnostics: sortDiagnostics([...translatedResult.diagnostics, ...this.exclusions.diagnostics]) };
    if (result.model.ingresses !== this.last?.model.ingresses) this.countIngresses(result.model.ingresses);
    this.last = result;
    this.o.metrics?.setDiagnostics(result.diagnostics);
    const appeared = this.report([...result.diagnostics, ...validityDiagnostics(result.model.certificates, Date.now())]);
    const fresh = [...this.unsent.filter((d) => this.reported.has(JSON.stringify(d))), ...appeared];
    this.unsent = fresh;
    if (outcome.deferredMs !== undefined) {
      // Reloads are rate-limited: whatever is newest when the window ends goes live in one reload.
      this.deferredSince ??= observedAt;
      this.resubmitAfter(outcome.deferredMs);
      return;
    }
    if (outcome.via) observedAt = Math.min(observedAt, this.deferredSince ?? observedAt);
    this.deferredSince = undefined;
    if (!outcome.applied) {
      this.o.metrics?.syncErrors.inc({ stage: 'apply' });
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
    this.unsent = [];
    this.lastGood = input;
    if (outcome.via) {
      this.o.metrics?.applyDuration.observe((performance.now() - observedAt) / 1000);
      this.o.metrics?.generations.inc();
    }
    this.o.onLive?.(result, fresh, snapshot);
    if (!outcome.via) return;
    this.log[outcome.via === 'runtime' ? 'debug' : 'info'](
      { component: 'controller', via: outcome.via, ms: Math.round(performance.now() - started), translateMs: Math.round(translated - started), waitedMs: Math.round(started - observedAt), ingresses: this.owned, hostGroups: result.model.hostGroups.length, backends: result.model.backends.length },
      'configuration live',
    );
  }

  /** Translates `input` and applies the model. translate is pure, so a throw is a bug that some input triggers:
   * it counts as a rejection (so the input is isolated), and a fresh Translator takes over, the old one's state
   * being unknown. */
  private async attempt(input: Snapshot): Promise<{ result?: TranslateResult; outcome: ApplyOutcome; translateMs: number }> {
    const began = performance.now();
    let result;
    try {
      result = this.translator.update(input);
    } catch (e) {
      this.translator = new Translator(this.o.translate);
      return { outcome: { applied: false, rejected: true, error: `${TRANSLATE_FAILED}: ${(e as Error).stack ?? String(e)}` }, translateMs: performance.now() - began };
    }
    const translateMs = performance.now() - began;
    this.o.metrics?.translateDuration.observe(translateMs / 1000);
    return { result, outcome: await this.applier.apply(result.model), translateMs };
  }

  /** What isolation checks candidates with: translate, render and `haproxy -c`. A throw of translate fails a check.
   * One incremental Translator for all of an isolation's checks: they differ from each other by halves of the
   * suspects, not by everything. */
  private checker(): CheckFn {
    let translator = new Translator(this.o.translate);
    return async (s) => {
      let model;
      try {
        model = translator.update(s).model;
      } catch (e) {
        translator = new Translator(this.o.translate);
        return { ok: false, output: `${TRANSLATE_FAILED}: ${(e as Error).message}` };
      }
      return this.applier.check(model);
    };
  }

  /**
   * Finds the objects of `input` that HAProxy rejects (bisection with `haproxy -c`, see isolate.ts) and leaves them
   * out from now on. Returns false when no object is to blame: the failure is HAProxy's own, or `haproxy -c`
   * accepts the candidate (a start or reload failed for another reason).
   */
  private async isolate(input: Snapshot, outcome: ApplyOutcome): Promise<boolean> {
    const began = performance.now();
    let result;
    try {
      result = await isolate(input, this.lastGood, this.checker());
    } catch (e) {
      this.log.error({ component: 'isolate', err: (e as Error).message }, 'cannot look for the objects to blame');
      return false;
    }
    const ms = Math.round(performance.now() - began);
    if (result.kind === 'not-reproduced') {
      this.log.warn({ component: 'isolate', ms, err: outcome.error }, 'haproxy -c accepts the candidate that failed: no object is to blame');
      return false;
    }
    if (result.kind === 'not-object-specific') {
      this.log.error({ component: 'isolate', ms, checks: result.checks, err: haproxyReason(result.output) }, 'HAProxy rejects even a configuration without any object: no object is to blame');
      return false;
    }
    for (const c of result.culprits) this.exclusions.add(c);
    this.o.metrics?.isolated.inc(result.culprits.length);
    this.log.warn({ component: 'isolate', ms, checks: result.checks, objects: result.culprits.length }, `candidate rejected; ${result.culprits.length} object(s) to blame left out, everything else goes live`);
    return true;
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
