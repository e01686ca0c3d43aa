// Entry point: `portico serve`, `portico translate` and `portico check`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FlagError, helpText, parseFlags } from './flags.js';
import type { ServeFlags } from './flags.js';
import { createLogger, throttledCount } from '../log.js';
import type { Logger } from '../log.js';
import { ManifestSource } from '../sources/manifests/watch.js';
import { ManifestStore } from '../store/store.js';
import type { Obj } from '../sources/manifests/parse.js';
import { translate } from '../translate/translate.js';
import type { TranslateOptions } from '../translate/translate.js';
import { serializeResult } from '../model/serialize.js';
import { HaproxySupervisor } from '../haproxy/process/supervisor.js';
import { MASTER_SOCKET, prepareStateDir } from '../haproxy/process/state-dir.js';
import { assertPortsFree } from '../haproxy/process/ports.js';
import { Applier } from '../haproxy/apply.js';
import { AccessLog, AccessLogRingReader, BoundedLineWriter, registerAccessLogMetrics } from '../accesslog/index.js';
import { ACCESS_LOG_RING } from '../haproxy/render/access-log.js';
import { SectionNames } from '../admin/section-names.js';
import { TrafficMetrics } from '../admin/traffic-metrics.js';
import { RequestRoutes } from '../explain/request-routes.js';
import type { RuntimeState } from '../haproxy/runtime/plan.js';
import { Controller } from '../controller.js';
import { generateDefaultCertificateOffThread } from '../haproxy/default-cert-worker.js';
import { startAdminServer } from '../admin/server.js';
import { Metrics } from '../admin/metrics.js';
import { BackendMetrics } from '../admin/backend-metrics.js';
import { Dashboard } from '../admin/dashboard/index.js';
import { CertificateMetrics } from '../admin/certificate-metrics.js';
import { readStats } from '../admin/haproxy-stats.js';
import { ADMIN_SOCKET } from '../haproxy/render/render.js';
import { porticoVersion } from '../admin/version.js';
import { startKubernetesSource } from './kubernetes.js';
import type { LiveHook } from './kubernetes.js';
import { ipv6Available, systemNameservers, threadsForCpuLimit } from './platform.js';
import { edgeSettings } from './render-options.js';
import { check, losesSomething } from '../check/check.js';
import { checkJson, checkTable } from '../check/format.js';
import { snapshotFromApi } from '../check/from-api.js';
import { parseManifestText } from '../sources/manifests/parse.js';
import { ConfigError, inClusterConfig, kubeconfigFile } from '../sources/kubernetes/config.js';
import { KubeClient } from '../sources/kubernetes/client.js';
import type { Snapshot } from '../k8s/kinds.js';
import { explainRequest, explainJson, explainText, requestFromUrl, RequestError } from '../explain/index.js';
import type { ExplainInput } from '../explain/index.js';
import { debugExplain } from '../explain/debug-endpoint.js';
import { withDebugHeaders } from '../explain/debug-headers.js';

function translateOptions(f: ServeFlags): TranslateOptions {
  const manifests = f.kubernetes === undefined;
  return {
    controllerName: f.controllerName,
    ingressClass: f.ingressClass,
    watchIngressWithoutClass: f.watchIngressWithoutClass,
    // Manifest mode stands in for the API server: no admission ran, and no IngressClass need exist.
    implicitIngressClass: manifests,
    checkCreateOnlyRules: manifests,
    sslRedirect: f.sslRedirect,
    defaultCertificateSecret: f.defaultSslCertificate,
    configMap: f.configMap,
  };
}

function snapshotOf(store: ManifestStore, files: Map<string, Obj[]>, log: Logger) {
  const { snapshot, duplicates } = store.update(files);
  for (const d of duplicates)
    log.warn({ component: 'store', object: d.key, file: d.ignored, rule: 'duplicate-object' }, `${d.key} is defined in ${d.kept} and again in ${d.ignored}; the copy in ${d.kept} is used`);
  return snapshot;
}

async function runTranslate(f: ServeFlags): Promise<number> {
  const log = createLogger(f.logFormat, f.logLevel, { fd: 2 });
  const source = new ManifestSource(f.manifests, log, () => undefined, { maxFileBytes: f.maxManifestFileSize });
  const files = await source.start();
  source.stop();
  process.stdout.write(serializeResult(translate(snapshotOf(new ManifestStore(), files, log), translateOptions(f))));
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The objects check reads: manifest paths and standard input (`-`), or one list of each kind from the API (and the
 * --configmap ConfigMap and the objects it names, by name, where the lists did not reach). */
async function checkSnapshot(f: ServeFlags, log: Logger): Promise<Snapshot> {
  if (f.kubernetes) {
    let cfg;
    try {
      cfg = f.kubernetes.kubeconfig ? kubeconfigFile(f.kubernetes.kubeconfig) : inClusterConfig();
    } catch (e) {
      if (e instanceof ConfigError) throw new FlagError(e.message);
      throw e;
    }
    return snapshotFromApi(new KubeClient(cfg), f.namespace, log, f.configMap);
  }
  const files = new Map<string, Obj[]>();
  const paths = f.manifests.filter((p) => p !== '-');
  if (paths.length > 0) {
    const source = new ManifestSource(paths, log, () => undefined, { maxFileBytes: f.maxManifestFileSize });
    for (const [file, objects] of await source.start()) files.set(file, objects);
    source.stop();
  }
  if (f.manifests.includes('-')) {
    const parsed = parseManifestText(await readStdin());
    if (parsed.ok) files.set('(standard input)', parsed.objects);
    else log.error({ component: 'check', file: '(standard input)', rule: 'manifest-file' }, `standard input refused: ${parsed.error}${parsed.line !== undefined ? ` (line ${parsed.line})` : ''}`);
  }
  return snapshotOf(new ManifestStore(), files, log);
}

/** checkSnapshot for a command: a bad flag still throws (usage, exit 2); anything else is logged and is undefined. */
async function readSnapshot(f: ServeFlags, log: Logger, component: string, what: string): Promise<Snapshot | undefined> {
  try {
    return await checkSnapshot(f, log);
  } catch (e) {
    if (e instanceof FlagError) throw e;
    log.error({ component, err: e instanceof Error ? e.message : String(e) }, what);
    return undefined;
  }
}

async function runCheck(f: ServeFlags): Promise<number> {
  let unreadable = 0;
  const log = createLogger(f.logFormat, f.logLevel, { fd: 2, onProblem: () => unreadable++ });
  const snapshot = await readSnapshot(f, log, 'check', 'cannot read the objects to check');
  if (!snapshot) return 1;
  const report = check(snapshot, translateOptions(f));
  if (report.missingConfigMap !== undefined) log.error({ component: 'check', configmap: report.missingConfigMap, rule: 'G5' }, `ConfigMap ${report.missingConfigMap} (--configmap) is not among the objects read: its keys are not checked`);
  process.stdout.write(f.output === 'json' ? checkJson(report) : checkTable(report));
  return losesSomething(report) || unreadable > 0 ? 1 : 0;
}

/** `portico explain`: the objects read as check reads them, translated as serve would, one request explained. */
async function runExplain(f: ServeFlags): Promise<number> {
  const x = f.explain!;
  let req;
  try {
    req = requestFromUrl(x.url, x.method, x.headers, { ...(x.sni !== undefined ? { sni: x.sni } : {}), ...(x.client !== undefined ? { clientAddress: x.client } : {}) });
  } catch (e) {
    if (e instanceof RequestError) throw new FlagError(e.message);
    throw e;
  }
  const log = createLogger(f.logFormat, f.logLevel, { fd: 2 });
  const snapshot = await readSnapshot(f, log, 'explain', 'cannot read the objects');
  if (!snapshot) return 1;
  const e = explainRequest({ result: translate(snapshot, translateOptions(f)), snapshot }, req, { httpsRedirectPort: f.httpsRedirectPort });
  process.stdout.write(f.output === 'json' ? explainJson(e) : explainText(e));
  return e.outcome === 'not-found' || e.outcome === 'bad-request' ? 1 : 0;
}

async function runServe(f: ServeFlags): Promise<void> {
  // Standard output has one writer while serving: the access log's lines and Portico's own go through one queue.
  const stdout = new BoundedLineWriter(1);
  process.on('exit', () => stdout.flushSync());
  const log = createLogger(f.logFormat, f.logLevel, { sink: stdout });
  const ownStateDir = f.stateDir === undefined;
  const stateDir = resolve(f.stateDir ?? (await mkdtemp(join(tmpdir(), 'portico-'))));
  if (!/^\/[A-Za-z0-9_./-]*$/.test(stateDir)) throw new FlagError(`--state-dir: ${JSON.stringify(stateDir)} may contain only letters, digits and _ . / -`);
  await prepareStateDir(stateDir);

  // From the stop signal on, /readyz answers 503; `shuttingDown` is set once the graceful stop itself begins, after
  // the drain delay, during which everything (sources, controller, HAProxy's supervision) keeps going: HAProxy may
  // serve for many seconds yet, and must not do so with endpoints that went stale meanwhile.
  let draining = false;
  let endDrain: (() => void) | undefined;
  let shuttingDown = false;
  // Registered at once: SIGHUP's default action would kill Portico and leave HAProxy unmanaged.
  let reread = (): Promise<string> => Promise.resolve('the sources are still being read for the first time');
  process.on('SIGHUP', () => {
    if (shuttingDown) return;
    log.info({ component: 'serve', signal: 'SIGHUP' }, 'SIGHUP: reading the sources again');
    reread().then(
      (what) => log.info({ component: 'serve', signal: 'SIGHUP' }, `SIGHUP: ${what}`),
      (e: unknown) => log.error({ component: 'serve', signal: 'SIGHUP', err: String(e) }, 'SIGHUP: reading the sources again failed'),
    );
  });
  // ingress-nginx's constant labels: its pod's namespace and name from the downward API, and the IngressClass
  // controller it answers to.
  const metrics = new Metrics({ identity: { namespace: process.env.POD_NAMESPACE || 'default', controllerClass: f.controllerName, pod: process.env.POD_NAME ?? '' }, perHost: f.metricsPerHost, version: porticoVersion() });
  // The access log (src/accesslog/): HAProxy's request lines (each worker's ring, read as it fills) become Portico's lines.
  // Its records are also what subscribers (request metrics) read: `accessLog.subscribe`.
  const accessLog: AccessLog = new AccessLog({
    mode: f.accessLog,
    sink: stdout,
    sectionOf: (section, server) => {
      const names = liveSectionNames();
      const service = names?.service(section);
      if (!service) return undefined;
      return { service: `${service.namespace}/${service.service}:${service.port}`, endpoint: (server && names?.endpoint(section, server)?.endpoint) || '' };
    },
    settings: () => applier.live?.model.global?.accessLog,
    // HAProxy's own messages to the listeners' log (a proxy started or stopped): its standard error says the same.
    onOtherLine: (line) => log.debug({ component: 'haproxy' }, line),
    onLost: (lines) => lostLines.add(lines),
    ringBytes: f.accessLogBufferBytes,
  });
  // HAProxy notes each run of lines it could not keep; one warning every 10 s at most says how many.
  const lostLines = throttledCount(10_000, (lines) => log.warn({ component: 'access-log', lostLines: lines }, `HAProxy dropped ${lines} access log lines: Portico did not read its ring in time (see --access-log-buffer); those requests are missing from the access log and the traffic metrics`));
  // Section and server names back to Kubernetes names, made once per live state (a reload or a runtime change).
  let sectionNames: { state: RuntimeState; names: SectionNames } | undefined;
  const liveSectionNames = (): SectionNames | undefined => {
    const state = applier.live;
    if (!state) return undefined;
    if (sectionNames?.state !== state) sectionNames = { state, names: SectionNames.of(state) };
    return sectionNames.names;
  };
  // Reading pauses while 1 MiB of lines waits for standard output, and goes on below 256 kB: the rings hold the rest.
  const ringReader = f.accessLog === 'off' ? undefined : new AccessLogRingReader({ runtimeSocket: join(stateDir, ADMIN_SOCKET), masterSocket: join(stateDir, MASTER_SOCKET), ring: ACCESS_LOG_RING, log: accessLog, backlogged: () => stdout.backlog > 1 << 20 });
  if (ringReader) stdout.onRelief(256 << 10, () => ringReader.resume());
  ringReader?.start();
  registerAccessLogMetrics(metrics.registry, accessLog, stdout, ringReader);
  // Each record's Ingress, rule and Service, and the traffic series (ingress-nginx's names and Portico's), from the
  // route the live model gives its Host and path: the matcher `portico explain` uses, so the three agree.
  const requestRoutes = new RequestRoutes(() => applier.live?.model);
  accessLog.setRouteResolver((host, path) => {
    const r = requestRoutes.resolve(host, path);
    if (!r) return undefined;
    const slash = r.ingress.indexOf('/');
    return { namespace: r.ingress.slice(0, slash), ingress: r.ingress.slice(slash + 1), path: `${r.host === undefined || r.host === '*' ? '' : r.host}${r.ingressPath ?? ''}`, service: `${r.service}:${r.port}` };
  });
  const traffic = new TrafficMetrics({ constLabels: metrics.controllerLabels(), perHost: f.metricsPerHost, route: (host, path) => requestRoutes.resolve(host, path) });
  metrics.addText(() => Promise.resolve(traffic.exposition()));
  accessLog.subscribe((r) => traffic.observe(r));
  let haproxyDown = 'HAProxy is not running';
  let servedOnce = false;
  const supervisor = new HaproxySupervisor({
    bin: f.haproxyBin,
    configPath: join(stateDir, 'haproxy.cfg'),
    masterSocket: join(stateDir, MASTER_SOCKET),
    probePorts: [f.httpPort, f.httpsPort],
    probeHost: f.bindAddress === '' ? '127.0.0.1' : f.bindAddress,
    probeSockets: (): string[] => applier.listenerSockets,
    pidFile: join(stateDir, 'haproxy.pid'),
    log,
    // The workers' last lines, before HAProxy is stopped: the sessions reading them would otherwise hold the workers.
    ...(ringReader ? { beforeStop: () => ringReader.drain(2000), onNewWorker: () => ringReader.attach(1000) } : {}),
    onRestart: () => metrics.restarts.inc(),
    onRestartFailure: () => metrics.restartFailures.inc(),
    onServingChange: (serving, reason) => {
      metrics.haproxyUp.set(serving ? 1 : 0);
      if (!serving) haproxyDown = reason;
      if (shuttingDown) return;
      if (!serving) log.warn({ component: 'supervisor', reason }, 'HAProxy is not serving; /readyz answers 503 until it is back');
      else if (servedOnce && applier.isBehind) log.warn({ component: 'supervisor' }, 'HAProxy is serving again, from an older configuration; /readyz answers 503 until it is up to date');
      else if (servedOnce) log.info({ component: 'supervisor' }, 'HAProxy is serving again; /readyz answers 200');
      servedOnce ||= serving;
    },
  });
  // Before anything else binds: a port held by someone else (an HAProxy left behind by an earlier Portico with
  // another state directory, say) fails the start with a clear message instead of being shared.
  await supervisor.stopOrphan();
  await assertPortsFree(f.bindAddress === '' ? '0.0.0.0' : f.bindAddress, [
    { port: f.httpPort, flag: '--http-port' },
    { port: f.httpsPort, flag: '--https-port' },
  ]);
  // The default certificate is generated on another core while the manifests are read on this one.
  const defaultCert = generateDefaultCertificateOffThread();
  const store = new ManifestStore();
  let submit = (_files: Map<string, Obj[]>): void => undefined;
  const source = f.kubernetes ? undefined : new ManifestSource(f.manifests, log, (files) => submit(files), { maxFileBytes: f.maxManifestFileSize });
  const initialFiles = source?.start();
  initialFiles?.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
  const defaultCertPem = await defaultCert;
  const ipv6 = f.bindAddress === '' && (f.edge.ipv6 === 'true' || (f.edge.ipv6 === 'auto' && (await ipv6Available())));
  const threads = f.edge.threads > 0 ? f.edge.threads : threadsForCpuLimit();
  const applier = new Applier(
    {
      stateDir,
      defaultCertPem,
      minSpareBackends: f.spareBackends,
      reloadIntervalMs: f.reloadInterval * 1000,
      render: {
        stateDir,
        httpPort: f.httpPort,
        httpsPort: f.httpsPort,
        bindAddress: f.bindAddress,
        ipv6,
        threads,
        // In a cluster, the pod's resolv.conf names the cluster DNS, which knows every ExternalName target. From
        // manifests (a laptop, a demo), names may live in /etc/hosts, which HAProxy's resolvers never read: there they
        // are resolved by the C library whenever a configuration is loaded.
        resolvers: f.edge.resolvers === 'auto' ? (f.kubernetes ? systemNameservers() : []) : f.edge.resolvers,
        httpsRedirectPort: f.httpsRedirectPort,
        maxConnections: f.maxConnections,
        hardStopAfterSeconds: f.hardStopAfter,
        serverHeader: 'portico',
        timeouts: {
          connect: f.upstreamConnectTimeout,
          client: f.clientTimeout,
          server: f.upstreamReadTimeout,
          tunnel: f.tunnelTimeout,
          httpRequest: f.edge.clientRequestTimeout,
          keepAlive: f.edge.clientKeepaliveTimeout,
        },
        edge: edgeSettings(f),
        accessLog: f.accessLog !== 'off',
        accessLogBufferBytes: f.accessLogBufferBytes,
      },
    },
    supervisor,
    log,
    metrics,
  );
  // Ready means HAProxy takes traffic now, as the sources say: not before the first configuration is live, not while
  // HAProxy is down (dead, no worker, listeners refusing: the supervisor's checks), not while a HAProxy restarted from
  // an older generation still serves outdated routing, not once a stop signal came, even while HAProxy still serves
  // during the drain delay: that is what takes the replica out of a load balancer's rotation.
  const notReady = (): string | undefined => {
    if (shuttingDown) return 'shutting down';
    if (draining) return `shutting down (draining: HAProxy still serves for up to ${f.shutdownDrainDelay} s after the stop signal)`;
    if (!applier.isLive) return 'no configuration is live yet';
    if (!supervisor.isServing) return haproxyDown;
    if (applier.isBehind) return 'HAProxy restarted from an older configuration (a fresh one could not be written) and is being brought up to date';
    return undefined;
  };
  // HAProxy's statistics are read when /metrics is scraped, at most once a second however many scrapers there are.
  const backendMetrics = new BackendMetrics({ live: () => applier.live, read: () => readStats(join(stateDir, ADMIN_SOCKET), 10_000) }, 1000);
  metrics.addText(() => backendMetrics.exposition());
  const certificateMetrics = new CertificateMetrics(metrics);
  // explain (issue 13 §3): /debug/explain answers from the model live now and the objects it came from.
  let live: ExplainInput | undefined;
  const debug = f.debugEndpoints ? { explain: (query: URLSearchParams) => debugExplain(live, query, { httpsRedirectPort: f.httpsRedirectPort }) } : undefined;
  // The dashboard (issue 13 §4) reads the same records, the same route matcher and the same statistics as the metrics.
  const dashboard = f.dashboard
    ? new Dashboard({ live: () => live?.result, endpoints: () => backendMetrics.endpoints(), route: (host, path) => requestRoutes.resolve(host, path) })
    : undefined;
  if (dashboard) accessLog.subscribe((r) => dashboard.observe(r));
  const admin = await startAdminServer(f.adminBindAddress, f.adminPort, {
    notReady,
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.exposition() }),
    ...(debug ? { debug } : {}),
    ...(dashboard ? { dashboard: { json: (query: URLSearchParams) => dashboard.json(query) } } : {}),
  });
  log.info({ component: 'admin', address: f.adminBindAddress || '(all)', port: f.adminPort }, `admin listener up (/healthz, /readyz, /metrics${dashboard ? ', the dashboard at /' : ''})`);

  let onLive: LiveHook | undefined;
  const controller = new Controller(
    {
      translate: translateOptions(f),
      metrics,
      onLive: (result, fresh, snapshot) => {
        certificateMetrics.update(result.model);
        live = { result, snapshot };
        onLive?.(result, fresh, snapshot);
      },
      ...(f.debugHeaders ? { forHaproxy: withDebugHeaders } : {}),
    },
    applier,
    log,
  );

  let stopSource = (): void => undefined;
  let stopReporting = (): Promise<void> => Promise.resolve();
  const shutdown = async (signal: string): Promise<void> => {
    if (endDrain) {
      log.info({ component: 'serve', signal }, `${signal} again: ending the drain delay now`);
      endDrain();
      return;
    }
    if (draining || shuttingDown) return;
    // A replica that was not ready is in no balancer's rotation (or has nothing to serve with): nothing to wait for.
    const wasReady = notReady() === undefined;
    draining = true;
    if (f.shutdownDrainDelay > 0 && wasReady) {
      log.info(
        { component: 'serve', signal, drainSeconds: f.shutdownDrainDelay },
        `${signal}: /readyz answers 503 and HAProxy keeps serving for ${f.shutdownDrainDelay} s, so that load balancers stop sending new connections first (send the signal again to stop sooner)`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, f.shutdownDrainDelay * 1000);
        endDrain = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      endDrain = undefined;
    }
    shuttingDown = true;
    log.info({ component: 'serve', signal, graceSeconds: f.shutdownGracePeriod }, 'shutting down: no new connections, in-flight requests finish');
    stopSource();
    controller.stop();
    applier.stop();
    await stopReporting();
    await supervisor.stop(f.shutdownGracePeriod * 1000);
    ringReader?.stop();
    admin.close();
    admin.closeAllConnections();
    if (ownStateDir) await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    log.info({ component: 'serve' }, 'stopped');
    // The requests HAProxy served last, and this line, are written before Portico exits (what is left after 2 s, a
    // standard output that stopped reading, is written synchronously at exit).
    await Promise.race([stdout.flushed(), new Promise((r) => setTimeout(r, 2000))]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  log.info({ component: 'serve', source: f.kubernetes ? 'kubernetes' : 'manifests', stateDir, httpPort: f.httpPort, httpsPort: f.httpsPort, ipv6, haproxyThreads: threads }, 'starting');
  if (f.kubernetes) {
    const k = await startKubernetesSource(f, f.kubernetes, controller, (hook) => (onLive = hook), () => shuttingDown, log, metrics);
    stopSource = k.stop;
    stopReporting = k.stopReporting;
    reread = async () => `relisted ${await k.relist()} objects from the API`;
    return;
  }
  if (!source || !initialFiles) return;
  submit = (files) => {
    if (!shuttingDown) void controller.submit(snapshotOf(store, files, log));
  };
  stopSource = () => source.stop();
  await initialFiles;
  reread = async () => `read ${await source.rereadAll()} manifest files again`;
  // Not the first scan's result: a change seen by a rescan before `submit` was wired is in the source's latest view.
  await controller.submit(snapshotOf(store, source.snapshot(), log));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(helpText());
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve' && command !== 'translate' && command !== 'check' && command !== 'explain') {
    process.stderr.write(`portico: unknown command ${JSON.stringify(command)}\n\n${helpText()}`);
    return 2;
  }
  let flags: ServeFlags;
  try {
    flags = parseFlags(command, rest);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`portico ${command}: ${e.message}\n(see portico ${command} --help)\n`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    process.stdout.write(helpText(command));
    return 0;
  }
  if (command === 'translate') return runTranslate(flags);
  if (command === 'check' || command === 'explain') {
    try {
      return await (command === 'check' ? runCheck(flags) : runExplain(flags));
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      process.stderr.write(`portico ${command}: ${e.message}\n`);
      return 2;
    }
  }
  await runServe(flags);
  return -1; // keep running: the signal handlers exit
}

// A bug must never take the data plane down with it: log, keep serving the last good configuration.
process.on('uncaughtException', (e) => process.stderr.write(`${JSON.stringify({ level: 50, msg: 'uncaught exception', err: e.stack ?? String(e) })}\n`));
process.on('unhandledRejection', (e) => process.stderr.write(`${JSON.stringify({ level: 50, msg: 'unhandled rejection', err: String(e) })}\n`));

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`portico: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
