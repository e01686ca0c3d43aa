// Serve mode with the Kubernetes API as the source: reflectors feed the controller; the elected leader reports
// status and events.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Controller } from '../controller.js';
import type { Diagnostic, TranslateResult } from '../model/types.js';
import type { Snapshot } from '../k8s/kinds.js';
import type { KubernetesFlags, ServeFlags } from './flags.js';
import { FlagError } from './flags.js';
import { ConfigError, inClusterConfig, kubeconfigFile } from '../sources/kubernetes/config.js';
import { KubeClient } from '../sources/kubernetes/client.js';
import { KubernetesSource } from '../sources/kubernetes/source.js';
import { LeaderElector } from '../status/leader.js';
import { StatusWriter } from '../status/status-writer.js';
import { EventRecorder } from '../status/events.js';
import { NodeAddresses } from '../status/node-addresses.js';
import type { Metrics } from '../admin/metrics.js';

export type LiveHook = (result: TranslateResult, fresh: Diagnostic[], snapshot: Snapshot) => void;

/** The pods of this installation (deploy/base labels them so): their nodes' addresses are published when nothing else is. */
const PORTICO_POD_SELECTOR = 'app.kubernetes.io/name=portico';

/** Status is re-checked this often even without changes (rule S4: ingress-nginx re-syncs every 60 s). */
const STATUS_RESYNC_MS = 60_000;

export async function startKubernetesSource(
  f: ServeFlags,
  k: KubernetesFlags,
  controller: Controller,
  setLiveHook: (hook: LiveHook) => void,
  shuttingDown: () => boolean,
  log: Logger,
  metrics?: Metrics,
): Promise<{ stop: () => void; stopReporting: () => Promise<void>; relist: () => Promise<number> }> {
  let cfg;
  try {
    cfg = k.kubeconfig ? kubeconfigFile(k.kubeconfig) : inClusterConfig();
  } catch (e) {
    if (e instanceof ConfigError) throw new FlagError(e.message);
    throw e;
  }
  const client = new KubeClient(cfg);
  const namespace = k.electionNamespace ?? process.env.POD_NAMESPACE ?? cfg.namespace ?? 'default';
  const identity = process.env.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`;

  const source = new KubernetesSource(
    client,
    { watchNamespace: k.watchNamespace, pageSize: k.listPageSize, stallMs: k.watchStallTimeout * 1000, backoff: { initialMs: 250, maxMs: 30_000 }, debounceMs: 10, events: metrics && { watchRestarted: (resource, reason) => metrics.watchRestarts.inc({ resource, reason }), relisted: (resource) => metrics.relists.inc({ resource }) } },
    (snapshot) => {
      if (!shuttingDown()) void controller.submit(snapshot);
    },
    log,
  );
  const status = new StatusWriter(client, { publishService: k.publishService, publishAddresses: k.publishStatusAddress }, log);
  const events = new EventRecorder(client, (store, key) => source.get(store, key), { controllerName: f.controllerName, instance: identity }, log);

  const nodeAddresses = new NodeAddresses(client, namespace, PORTICO_POD_SELECTOR);
  const logNodeError = (e: unknown): string[] => {
    log.warn({ component: 'status', err: (e as Error).message }, 'cannot read the addresses of the nodes running Portico');
    return [];
  };
  let last: { result: TranslateResult; snapshot: Snapshot } | undefined;
  let statusRunning = false;
  let statusAgain = false;
  const syncStatus = async (): Promise<void> => {
    if (!k.updateStatus || !elector.isLeader || !last) return;
    if (statusRunning) {
      statusAgain = true;
      return;
    }
    statusRunning = true;
    try {
      do {
        statusAgain = false;
        const owned = new Set(last.result.model.ingresses.filter((i) => i.owned).map((i) => i.ingress));
        const publish = k.publishService ? source.get('services', k.publishService) : undefined;
        const nodes = k.publishService === undefined && k.publishStatusAddress.length === 0 ? await nodeAddresses.get().catch(logNodeError) : [];
        // The Ingresses as translated, not as the source holds them now: ownership was decided on those objects, and
        // each write is conditional on the object being unchanged since (rule S2).
        await status.sync(last.snapshot.ingresses, owned, publish, nodes);
      } while (statusAgain && elector.isLeader);
    } finally {
      statusRunning = false;
    }
  };

  const elector = new LeaderElector(
    client,
    { namespace, name: k.electionId, identity, leaseDurationMs: k.leaseDuration * 1000, renewDeadlineMs: k.renewDeadline * 1000, retryPeriodMs: k.retryPeriod * 1000 },
    log,
    (leading) => {
      metrics?.leading(k.electionId, leading);
      if (leading) void syncStatus();
    },
  );

  setLiveHook((result, fresh, snapshot) => {
    last = { result, snapshot };
    void syncStatus();
    if (elector.isLeader && fresh.length > 0) void events.record(fresh);
  });

  log.info({ component: 'kubernetes', server: cfg.server, watchNamespace: k.watchNamespace ?? '(all)', identity, lease: `${namespace}/${k.electionId}` }, 'connecting to the Kubernetes API');
  metrics?.leading(k.electionId, false);
  elector.start();
  await source.start();
  await controller.submit(source.snapshot());
  const resync = setInterval(() => void syncStatus(), STATUS_RESYNC_MS);
  resync.unref();
  return {
    relist: () => source.relist(),
    stop: () => {
      clearInterval(resync);
      source.stop();
    },
    stopReporting: async () => {
      await elector.stop();
      client.close();
    },
  };
}
