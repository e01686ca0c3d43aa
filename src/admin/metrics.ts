// Prometheus metrics on the admin port. Names and help texts are a public contract (dashboards and alerts are
// built on them): change them only with a note in the README.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'portico_' });
  }
}
