// Prometheus metrics on the admin port. Names and help texts are a public contract (dashboards and alerts are
// built on them): change them only with a note in the README. The `nginx_ingress_controller_*` series repeat
// ingress-nginx's names, types, labels and help texts (internal/ingress/metric/collectors/controller.go), so that
// dashboards and alerts written for it keep working; every label value of every series here comes from a fixed set
// or from a validated Kubernetes name, never from a request.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Diagnostic } from '../model/types.js';
import { RELOAD_REASONS, RUNTIME_OP_KINDS } from './reasons.js';
import type { ReloadReason, RuntimeOpKind } from './reasons.js';

/** ingress-nginx's constant labels, on every series of its that has them. */
export interface ControllerIdentity {
  /** POD_NAMESPACE, `default` when unset (as ingress-nginx's metric/main.go). */
  namespace: string;
  /** ingress-nginx passes its `--controller-class` (the IngressClass controller, `k8s.io/ingress-nginx`), not the
   * class name: Portico passes its --controller-name, the same field. */
  controllerClass: string;
  /** POD_NAME, empty when unset. */
  pod: string;
}

export interface MetricsOptions {
  identity?: ControllerIdentity;
  /** --metrics-per-host: whether the per-request traffic series carry a `host` label (read by the traffic
   * histograms, which Portico builds from the access log). */
  perHost?: boolean;
  /** Portico's version, for the build info series. */
  version?: string;
}

/** Durations of the pipeline's steps: a small configuration takes milliseconds, 10,000 Ingresses seconds. */
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A rule id is a code constant (V6, B3, G1, duplicate-object); anything else is counted under `other`, so that no
 * future diagnostic can make the label set unbounded. */
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

export class Metrics {
  readonly registry = new Registry();
  readonly identity: ControllerIdentity;
  readonly perHost: boolean;
  readonly reloads = new Counter({ name: 'portico_haproxy_reloads_total', help: 'HAProxy reloads (a new worker took over the listeners) since Portico started.', registers: [this.registry] });
  readonly runtimeUpdates = new Counter({ name: 'portico_runtime_updates_total', help: 'Changes applied through the HAProxy runtime API, without a reload.', registers: [this.registry] });
  readonly restarts = new Counter({ name: 'portico_haproxy_restarts_total', help: 'Times HAProxy died unexpectedly; Portico starts it again with the last good configuration.', registers: [this.registry] });
  readonly restartFailures = new Counter({ name: 'portico_haproxy_restart_failures_total', help: 'Attempts to restart a dead HAProxy that failed (each is retried; the log says why).', registers: [this.registry] });
  readonly haproxyUp = new Gauge({ name: 'portico_haproxy_up', help: '1 while HAProxy runs and every listener accepts connections, else 0 (/readyz is 503 then).', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'portico_config_rejected_total', help: 'Candidate configurations that failed `haproxy -c` or the reload; the last good one stayed live.', registers: [this.registry] });
  readonly applyDuration = new Histogram({
    name: 'portico_config_apply_duration_seconds',
    help: 'From the moment Portico observed a change to the moment the resulting configuration was live in HAProxy.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly isolated = new Counter({ name: 'portico_objects_isolated_total', help: 'Objects left out because HAProxy rejected a configuration with them (found by bisection with haproxy -c).', registers: [this.registry] });
  readonly excluded = new Gauge({ name: 'portico_objects_excluded', help: 'Objects left out now because HAProxy rejected them; each is tried again when it changes.', registers: [this.registry] });
  readonly ingresses = new Gauge({ name: 'portico_ingresses', help: 'Ingresses Portico owns, by state: valid (routed) or invalid (left out, see the diagnostics).', labelNames: ['state'], registers: [this.registry] });

  readonly generations = new Counter({ name: 'portico_config_generations_total', help: 'Routing models that went live (through a reload, the runtime API or the first start).', registers: [this.registry] });
  readonly generation = new Gauge({ name: 'portico_config_generation', help: 'Number of the configuration directory HAProxy runs (bumped by every reload).', registers: [this.registry] });
  readonly translateDuration = new Histogram({ name: 'portico_translate_duration_seconds', help: 'Time to translate the Kubernetes objects into the routing model, per sync.', buckets: STEP_BUCKETS, registers: [this.registry] });
  readonly renderDuration = new Histogram({ name: 'portico_render_duration_seconds', help: 'Time to render the HAProxy configuration and its files from the routing model, per reload.', buckets: STEP_BUCKETS, registers: [this.registry] });
  readonly reloadDuration = new Histogram({ name: 'portico_haproxy_reload_duration_seconds', help: 'Time from writing a new configuration to HAProxy serving it (haproxy -c and the reload).', buckets: STEP_BUCKETS, registers: [this.registry] });
  readonly reloadReasons = new Counter({ name: 'portico_haproxy_reload_reasons_total', help: 'Reloads and starts of HAProxy by reason class (docs/architecture.md "Metrics" lists the classes).', labelNames: ['reason'], registers: [this.registry] });
  readonly runtimeOps = new Counter({ name: 'portico_runtime_operations_total', help: 'Operations applied through the HAProxy runtime API, by kind (server, map, certificate, ca, backend-tls).', labelNames: ['kind'], registers: [this.registry] });
  readonly syncErrors = new Counter({ name: 'portico_sync_errors_total', help: 'Syncs that left the last good configuration live, by stage (translate, apply, internal).', labelNames: ['stage'], registers: [this.registry] });
  readonly diagnostics = new Gauge({ name: 'portico_diagnostics', help: 'Diagnostics of the last translation by level and rule id: errors mark invalid objects or parts left out, warnings things ignored.', labelNames: ['level', 'rule'], registers: [this.registry] });
  readonly watchRestarts = new Counter({ name: 'portico_kubernetes_watch_restarts_total', help: 'Kubernetes watches started again, by resource and why the previous one ended (ended, expired, error).', labelNames: ['resource', 'reason'], registers: [this.registry] });
  readonly relists = new Counter({ name: 'portico_kubernetes_relists_total', help: 'Full lists of a Kubernetes resource after the first one (410 Gone, errors, SIGHUP).', labelNames: ['resource'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'portico_leader', help: '1 while this replica holds the leader Lease (it writes status and Events), else 0. Absent without the Kubernetes API.', labelNames: ['lease'], registers: [this.registry] });
  readonly buildInfo = new Gauge({ name: 'portico_build_info', help: "A constant 1 labelled with Portico's version and the Node.js it runs on.", labelNames: ['version', 'node'], registers: [this.registry] });
  readonly certificateExpiry = new Gauge({ name: 'portico_ssl_certificate_expiry_timestamp_seconds', help: 'When the certificate of a TLS Secret expires (its notAfter, Unix seconds), per host it is served for ("" for a default certificate no host names).', labelNames: ['namespace', 'secret', 'host'], registers: [this.registry] });

  // ingress-nginx's controller series.
  private readonly constLabels = ['controller_namespace', 'controller_class', 'controller_pod'] as const;
  readonly nginxConfigHash = new Gauge({ name: 'nginx_ingress_controller_config_hash', help: 'Running configuration hash actually running', labelNames: this.constLabels, registers: [this.registry] });
  readonly nginxConfigSuccess = new Gauge({ name: 'nginx_ingress_controller_config_last_reload_successful', help: 'Whether the last configuration reload attempt was successful', labelNames: this.constLabels, registers: [this.registry] });
  readonly nginxConfigSuccessTime = new Gauge({ name: 'nginx_ingress_controller_config_last_reload_successful_timestamp_seconds', help: 'Timestamp of the last successful configuration reload.', labelNames: this.constLabels, registers: [this.registry] });
  readonly nginxSuccess = new Counter({ name: 'nginx_ingress_controller_success', help: 'Cumulative number of Ingress controller reload operations', labelNames: this.constLabels, registers: [this.registry] });
  readonly nginxErrors = new Counter({ name: 'nginx_ingress_controller_errors', help: 'Cumulative number of Ingress controller errors during reload operations', labelNames: this.constLabels, registers: [this.registry] });
  readonly nginxLeader = new Gauge({ name: 'nginx_ingress_controller_leader_election_status', help: "Gauge reporting status of the leader election, 0 indicates follower, 1 indicates leader. 'name' is the string used to identify the lease", labelNames: [...this.constLabels, 'name'], registers: [this.registry] });
  readonly nginxBuildInfo = new Gauge({ name: 'nginx_ingress_controller_build_info', help: "A metric with a constant '1' labeled with information about the build.", labelNames: [...this.constLabels, 'release', 'build', 'repository'], registers: [this.registry] });
  readonly nginxSslExpire = new Gauge({
    name: 'nginx_ingress_controller_ssl_expire_time_seconds',
    help: 'Number of seconds since 1970 to the SSL Certificate expire.\n\t\t\tAn example to check if this certificate will expire in 10 days is: "nginx_ingress_controller_ssl_expire_time_seconds < (time() + (10 * 24 * 3600))"',
    labelNames: ['namespace', 'class', 'host', 'secret_name', 'identifier'],
    registers: [this.registry],
  });

  /** Series written as text by their own collectors (backend-metrics.ts), after the registry's. */
  private readonly texts: (() => Promise<string>)[] = [];

  constructor(o: MetricsOptions = {}) {
    this.identity = o.identity ?? { namespace: 'default', controllerClass: '', pod: '' };
    this.perHost = o.perHost ?? true;
    collectDefaultMetrics({ register: this.registry, prefix: 'portico_' });
    const version = o.version ?? '';
    this.buildInfo.set({ version, node: process.version }, 1);
    this.nginxBuildInfo.set({ ...this.controllerLabels(), release: version, build: '', repository: 'portico' }, 1);
    // Present from the start, as ingress-nginx's, so that an alert on `== 0` or `rate(...)` has a series to read.
    this.nginxSuccess.inc(this.controllerLabels(), 0);
    this.nginxErrors.inc(this.controllerLabels(), 0);
    for (const reason of RELOAD_REASONS) this.reloadReasons.inc({ reason }, 0);
    for (const kind of RUNTIME_OP_KINDS) this.runtimeOps.inc({ kind }, 0);
  }

  /** Adds a collector that writes its series as Prometheus text itself: names must not clash with the registry's. */
  addText(collect: () => Promise<string>): void {
    this.texts.push(collect);
  }

  /** Everything /metrics serves, in Prometheus text format (registry.contentType). */
  async exposition(): Promise<string> {
    const parts = await Promise.all([this.registry.metrics(), ...this.texts.map((t) => t())]);
    return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('\n');
  }

  /** ingress-nginx's constant labels, for the series of its that carry them (the traffic histograms too). */
  controllerLabels(): Record<(typeof this.constLabels)[number], string> {
    return { controller_namespace: this.identity.namespace, controller_class: this.identity.controllerClass, controller_pod: this.identity.pod };
  }

  /** HAProxy started or reloaded with a new configuration; `hash` identifies its text. */
  reloaded(reason: ReloadReason, hash: number, seconds: number, start: boolean): void {
    this.reloadReasons.inc({ reason });
    this.reloadDuration.observe(seconds);
    const l = this.controllerLabels();
    this.nginxConfigSuccess.set(l, 1);
    this.nginxConfigSuccessTime.set(l, Math.floor(Date.now() / 1000));
    this.nginxConfigHash.set(l, hash);
    // ingress-nginx counts its first configuration as a reload too (nginx is started, then reloaded with it).
    this.nginxSuccess.inc(l);
    if (!start) this.reloads.inc();
  }

  /** A candidate configuration failed `haproxy -c`, the start or the reload: the last good one stays live. */
  reloadFailed(): void {
    const l = this.controllerLabels();
    this.rejected.inc();
    this.nginxErrors.inc(l);
    this.nginxConfigSuccess.set(l, 0);
    this.nginxConfigHash.set(l, 0);
  }

  runtimeApplied(kinds: ReadonlyMap<RuntimeOpKind, number>): void {
    this.runtimeUpdates.inc();
    for (const [kind, n] of kinds) this.runtimeOps.inc({ kind }, n);
  }

  leading(lease: string, isLeader: boolean): void {
    this.leader.set({ lease }, isLeader ? 1 : 0);
    this.nginxLeader.set({ ...this.controllerLabels(), name: lease }, isLeader ? 1 : 0);
  }

  /** The diagnostics of the translation now live, counted by level and rule: a series per rule that has any. */
  setDiagnostics(list: readonly Diagnostic[]): void {
    const counts = new Map<string, number>();
    for (const d of list) {
      const key = `${d.level}\u0000${RULE_ID.test(d.rule) ? d.rule : 'other'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    this.diagnostics.reset();
    for (const [key, n] of counts) {
      const [level, rule] = key.split('\u0000') as [Diagnostic['level'], string];
      this.diagnostics.set({ level, rule }, n);
    }
  }
}
