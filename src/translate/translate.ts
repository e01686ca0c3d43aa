// translate(snapshot) -> { model, diagnostics }: pure and deterministic. No I/O, no clock; shuffling the input
// does not change the output, and neither does the path an incremental Translator took to the same snapshot.
// An invalid object yields diagnostics and is left out; it never stops the others.
import type { Snapshot } from '../k8s/kinds.js';
import { isObject, objectName, stringMap } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import { CATCH_ALL_KEY, DEFAULT_CERTIFICATE_ID } from '../model/types.js';
import type { Backend, Diagnostic, GlobalSettings, HostGroup, IngressSummary, TranslateResult, SniBinding, Certificate } from '../model/types.js';
import type { HttpsRedirectDefaults } from './annotations/redirects.js';
import type { AnnotationValues } from './annotations/registry.js';
import { configMapEntries } from './configmaps.js';
import { readGlobalSettings, routeDefaults } from './settings/index.js';
import type { RouteDefaults } from './settings/index.js';
import { accessDefaults } from './settings/access.js';
import { readHeaderConfigMaps } from './settings/header-configmaps.js';
import { readDhParam } from './settings/dh-param.js';
import { resolveOwnership, validateIngressClass } from './classes.js';
import type { IngressClassInfo } from './classes.js';
import { cmp, objectRef, sortDiagnostics } from './diagnostics.js';
import { LiveEndpointIndex, refServiceKey, resolveBackend } from './endpoints.js';
import { buildCatchAll, buildGroup, hostKeysOf, isCatchAllCandidate } from './routes.js';
import type { BackendUse, CatchAllResult, GroupResult } from './routes.js';
import { SortedKeys } from './sorted-keys.js';
import { IdentityTracker } from './identity-diff.js';
import { ReadObjects } from './read-objects.js';
import { buildTls } from './tls.js';
import { validateIngress } from './validate-ingress.js';
import type { IngressInfo } from './validate-ingress.js';

export interface TranslateOptions {
  controllerName: string;
  ingressClass: string;
  /** --watch-ingress-without-class (rule C5). */
  watchIngressWithoutClass?: boolean | undefined;
  /** Manifest mode: behave as if our IngressClass existed (marked default) when the input defines none by that name. */
  implicitIngressClass: boolean;
  /** Rule V4 is checked on create only: true for manifests, false for objects an API server already admitted. */
  checkCreateOnlyRules: boolean;
  sslRedirect: boolean;
  /** `namespace/name` of the Secret given by --default-ssl-certificate. */
  defaultCertificateSecret?: string | undefined;
  /** `namespace/name` of the ConfigMap of controller-wide settings given by --configmap. */
  configMap?: string | undefined;
}

/** `namespace/name` (IngressClasses, cluster-scoped, are only sorted by it). */
function keyOf(o: Obj): string {
  return objectName(o, true);
}

/** translate as a pure function: one full run of a fresh Translator. */
export function translate(snapshot: Snapshot, opts: TranslateOptions): TranslateResult {
  return new Translator(opts).update(snapshot);
}

interface Validated {
  key: string;
  info: IngressInfo | undefined;
  findings: Diagnostic[];
}

interface IngressEntry {
  raw: Obj;
  v: Validated;
  owned: boolean;
  summary: IngressSummary;
  /** The findings that are ours to report (rule C8 keeps other controllers' Ingresses quiet). */
  diagnostics: Diagnostic[];
}

interface BackendEntry {
  backend: Backend;
  diagnostics: Diagnostic[];
}


/**
 * Incremental translate. `update(snapshot)` returns exactly what `translate(snapshot)` would, but only redoes the
 * work the change calls for: objects are recognised by identity (sources hand over unchanged objects as the same
 * references), an Ingress change rebuilds only the host groups it touches, and an EndpointSlice change only the
 * backends of its Service. Unchanged parts of the model keep their object identity, so later stages can diff the
 * model by reference.
 */
export class Translator {
  private readonly validated = new WeakMap<Obj, Validated>();
  private readonly entries = new Map<string, IngressEntry>();
  private readonly raws = new IdentityTracker<Obj>();
  private readonly ingressKeys = new SortedKeys();
  private classesSig: string | undefined;
  private classTable = new Map<string, IngressClassInfo>();
  private classDiagnostics: Diagnostic[] = [];
  /** Host key -> keys of the owned Ingresses whose routes depend on it. */
  private readonly hostIndex = new Map<string, Set<string>>();
  private readonly catchAllCandidates = new Set<string>();
  private readonly groups = new Map<string, GroupResult | CatchAllResult>();
  private readonly groupKeys = new SortedKeys();
  /** Backend name -> group key -> the Ingress refs whose winning routes there use it. */
  private readonly uses = new Map<string, Map<string, BackendUse>>();
  private readonly backends = new Map<string, BackendEntry>();
  private readonly backendKeys = new SortedKeys();
  /** `namespace/service` -> the backends that dial it: an endpoint change finds its backends without a scan. */
  private readonly backendsByService = new Map<string, Set<string>>();
  /** A backend was added or removed since the last model (the list is then rebuilt, not patched). */
  private backendSetChanged = false;
  private readonly endpoints = new LiveEndpointIndex();
  /** Secrets and ConfigMaps with the groups that read each: a changed one rebuilds those groups only, as an endpoint
   * change rebuilds only its Service's backends. */
  private readonly secrets = new ReadObjects();
  private readonly configMaps = new ReadObjects();
  private tls: ReturnType<typeof buildTls> | undefined;
  /** The --configmap ConfigMap last read (null: not read yet), what it set, and the redirect defaults routes see. */
  private globalRaw: Obj | undefined | null = null;
  private global: GlobalSettings | undefined;
  private https: HttpsRedirectDefaults;
  /** The ConfigMaps the settings' keys named when last read, each as it was then (undefined: not found). */
  private readonly globalReads = new Map<string, Obj | undefined>();
  private readonly globalSecretReads = new Map<string, Obj | undefined>();
  /** The ConfigMap's other route-level settings (access-list defaults, global authentication, load-balance,
   * annotation defaults, allowed headers, no-redirect paths), and the Ingresses with the annotation defaults merged
   * under their own values, made once per Ingress and defaults. */
  private routeSettings: Omit<RouteDefaults, 'sslRedirect' | 'forceSslRedirect'> = { access: accessDefaults(undefined) };
  private routeSettingsSig = JSON.stringify(this.routeSettings);
  private withDefaults = new WeakMap<IngressInfo, IngressInfo>();
  private last: TranslateResult | undefined;
  /** Diagnostics by source (`i:` Ingress, `g:` group, `b:` backend), non-empty lists only: collecting them stays
   * proportional to the number of findings, not to the number of objects. */
  private readonly findings = new Map<string, Diagnostic[]>();

  private setFindings(source: string, list: Diagnostic[]): void {
    if (list.length > 0) this.findings.set(source, list);
    else this.findings.delete(source);
  }

  constructor(private readonly opts: TranslateOptions) {
    this.https = { sslRedirect: opts.sslRedirect, forceSslRedirect: false };
  }

  /**
   * Reads the --configmap ConfigMap again when it changed (rules G1-G5). Its settings keep their identity while their
   * content is the same, so the planner sees no change; returns whether the settings routes are built with (the
   * redirect defaults and the other route-level keys) changed.
   */
  private updateGlobal(): boolean {
    const key = this.opts.configMap;
    if (key === undefined) return false;
    const raw = this.configMaps.all.get(key);
    // The ConfigMaps its keys name (add-headers, proxy-set-headers) are read with it: a change to one reads it again.
    const referencedSame = [...this.globalReads].every(([k, o]) => this.configMaps.all.get(k) === o) && [...this.globalSecretReads].every(([k, o]) => this.secrets.all.get(k) === o);
    if (raw === this.globalRaw && referencedSame) return false;
    this.globalRaw = raw;
    const slash = key.indexOf('/');
    const object = objectRef('ConfigMap', { namespace: key.slice(0, slash), name: key.slice(slash + 1) });
    const read = raw
      ? readGlobalSettings(configMapEntries(raw), object)
      : { settings: {}, diagnostics: [{ level: 'warning' as const, object, field: 'metadata.name', rule: 'G5', message: `the ConfigMap named by --configmap does not exist: every setting keeps its flag's value until it does` }] };
    this.globalReads.clear();
    const referenced = readHeaderConfigMaps(read.settings, (k) => {
      const o = this.configMaps.all.get(k);
      this.globalReads.set(k, o);
      return o;
    }, object);
    this.globalSecretReads.clear();
    const dhParam = readDhParam(read.settings, (k) => {
      const o = this.secrets.all.get(k);
      this.globalSecretReads.set(k, o);
      return o;
    }, object);
    this.setFindings('c:global', [...read.diagnostics, ...referenced, ...dhParam]);
    const settings: GlobalSettings | undefined = Object.keys(read.settings).length > 0 ? read.settings : undefined;
    if (JSON.stringify(settings) !== JSON.stringify(this.global)) this.global = settings;
    const { sslRedirect: _s, forceSslRedirect: _f, ...rest } = routeDefaults(settings);
    const sig = JSON.stringify(rest);
    const restChanged = sig !== this.routeSettingsSig;
    if (restChanged) {
      this.routeSettings = rest;
      this.routeSettingsSig = sig;
      this.withDefaults = new WeakMap();
    }
    const https = { sslRedirect: settings?.sslRedirect ?? this.opts.sslRedirect, forceSslRedirect: settings?.forceSslRedirect ?? false };
    if (https.sslRedirect === this.https.sslRedirect && https.forceSslRedirect === this.https.forceSslRedirect) return restChanged;
    this.https = https;
    return true;
  }

  /** An Ingress as routes see it: the ConfigMap's annotation defaults under its own annotations (its own win). */
  private effective(info: IngressInfo): IngressInfo {
    const { annotations: defaults, retryNonIdempotent } = this.routeSettings;
    if (!defaults && !retryNonIdempotent) return info;
    let merged = this.withDefaults.get(info);
    if (!merged) {
      merged = { ...info, annotations: withRetryNonIdempotent({ ...defaults, ...info.annotations }, retryNonIdempotent === true) };
      this.withDefaults.set(info, merged);
    }
    return merged;
  }

  update(snapshot: Snapshot): TranslateResult {
    const classes = this.updateClasses(snapshot.ingressClasses);
    const classesChanged = classes !== undefined;
    const { changed, tlsTouched, summariesChanged } = this.updateIngresses(snapshot.ingresses, classes);

    const affectedGroups = new Set<string>();
    for (const [before, after] of changed) {
      for (const info of [before, after]) {
        if (!info) continue;
        for (const k of hostKeysOf(info)) affectedGroups.add(k);
        if (isCatchAllCandidate(info)) affectedGroups.add(CATCH_ALL_KEY);
      }
      if (before) this.unindex(before);
      if (after) this.index(after);
    }
    const changedSecrets = this.secrets.update(snapshot.secrets);
    for (const group of this.secrets.readersOf(changedSecrets)) affectedGroups.add(group);
    const changedConfigMaps = this.configMaps.update(snapshot.configMaps);
    for (const group of this.configMaps.readersOf(changedConfigMaps)) affectedGroups.add(group);
    // New defaults for the redirect to HTTPS, the access lists or global authentication change routes anywhere: every
    // group is rebuilt (a rare, deliberate edit).
    if (this.updateGlobal()) for (const key of this.groups.keys()) affectedGroups.add(key);
    const affectedBackends = new Set<string>();
    for (const key of affectedGroups) this.rebuildGroup(key, affectedBackends);
    for (const name of this.updateEndpoints(snapshot.services, snapshot.endpointSlices)) affectedBackends.add(name);
    for (const name of affectedBackends) this.rebuildBackend(name);

    if (!this.tls || classesChanged || tlsTouched || changedSecrets.size > 0) {
      const owned = this.ingressKeys.list.map((k) => this.entries.get(k)!).filter((e) => e.owned).map((e) => e.v.info!);
      this.tls = this.keepEqual(this.tls, buildTls(owned, this.secrets.all, this.opts.defaultCertificateSecret));
    }

    const prev = this.last?.model;
    const catchAll = this.groups.get(CATCH_ALL_KEY);
    const tls = this.tls;
    // Lists nothing touched are the previous ones, not rebuilt: an endpoint change costs nothing per host group.
    const model: TranslateResult['model'] = {
      hostGroups: prev && affectedGroups.size === 0 ? prev.hostGroups : this.hostGroupList(prev?.hostGroups),
      backends: prev && affectedBackends.size === 0 ? prev.backends : this.backendList(prev?.backends, affectedBackends),
      certificates: tls.certificates,
      sni: tls.sni,
      ingresses: prev && !summariesChanged ? prev.ingresses : this.ingressKeys.list.map((k) => this.entries.get(k)!.summary),
    };
    model.sni = withHostTlsOptions(withAliasSni(tls.sni, model.hostGroups, tls.certificates), model.hostGroups);
    if (catchAll && 'target' in catchAll && catchAll.target) model.catchAll = catchAll.target;
    if (tls.defaultCertificate) model.defaultCertificate = tls.defaultCertificate;
    if (this.global) model.global = this.global;

    const diagnostics: Diagnostic[] = [...this.classDiagnostics, ...tls.diagnostics];
    for (const list of this.findings.values()) diagnostics.push(...list);
    for (const list of this.endpoints.serviceFindings.values()) diagnostics.push(...list);
    this.last = { model, diagnostics: dedupe(sortDiagnostics(diagnostics)) };
    return this.last;
  }

  private hostGroupList(prev: HostGroup[] | undefined): HostGroup[] {
    const list: HostGroup[] = [];
    for (const k of this.groupKeys.list) {
      const g = this.groups.get(k);
      if (g && 'group' in g && g.group) list.push(g.group);
    }
    const resolved = withOwnAliases(list);
    return prev && sameElements(prev, resolved) ? prev : resolved;
  }

  /** With the same backends as before, only the changed ones are looked at: an endpoint change stays O(1). */
  private backendList(prev: Backend[] | undefined, changed: Set<string>): Backend[] {
    const setChanged = this.backendSetChanged;
    this.backendSetChanged = false;
    if (!prev || setChanged) {
      const list = this.backendKeys.list.map((k) => this.backends.get(k)!.backend);
      return prev && sameElements(prev, list) ? prev : list;
    }
    let list: Backend[] | undefined;
    for (const name of changed) {
      const i = this.backendKeys.position(name);
      const b = this.backends.get(name)!.backend;
      if (prev[i] === b) continue;
      list ??= prev.slice();
      list[i] = b;
    }
    return list ?? prev;
  }

  /** Returns the class table when it differs from the last one (every Ingress's ownership is then redone). */
  private updateClasses(ingressClasses: Obj[]): Map<string, IngressClassInfo> | undefined {
    const classes = new Map<string, IngressClassInfo>();
    const classNames = new Set<string>();
    const diagnostics: Diagnostic[] = [];
    for (const raw of [...ingressClasses].sort((a, b) => cmp(keyOf(a), keyOf(b)))) {
      const { info, findings } = validateIngressClass(raw);
      diagnostics.push(...findings.list);
      if (info) classes.set(info.name, info);
      const meta = isObject(raw.metadata) ? raw.metadata : {};
      if (typeof meta.name === 'string') classNames.add(meta.name);
    }
    // A class by that name that the user defined, even an invalid one, is theirs to decide about: no stand-in.
    if (this.opts.implicitIngressClass && !classNames.has(this.opts.ingressClass))
      classes.set(this.opts.ingressClass, { name: this.opts.ingressClass, controller: this.opts.controllerName, isDefault: true });
    this.classDiagnostics = diagnostics;
    const sig = JSON.stringify([...classes.values()]);
    if (sig === this.classesSig) return undefined;
    this.classesSig = sig;
    return classes;
  }

  /** Returns the owned Ingresses that changed, as [before, after] (undefined = not owned or gone). */
  private updateIngresses(
    raws: Obj[],
    newClasses: Map<string, IngressClassInfo> | undefined,
  ): { changed: [IngressInfo | undefined, IngressInfo | undefined][]; tlsTouched: boolean; summariesChanged: boolean } {
    if (newClasses) this.classTable = newClasses;
    const changed: [IngressInfo | undefined, IngressInfo | undefined][] = [];
    let tlsTouched = false;
    let summariesChanged = false;
    const note = (before: IngressEntry | undefined, after: IngressEntry | undefined): void => {
      summariesChanged = true;
      const b = before?.owned ? before.v.info : undefined;
      const a = after?.owned ? after.v.info : undefined;
      if (b === a) return;
      changed.push([b, a]);
      if ((b?.tls.length ?? 0) > 0 || (a?.tls.length ?? 0) > 0) tlsTouched = true;
    };
    const d = this.raws.diff(raws);
    // Removed objects first: an edited Ingress is its old object removed and its new one added under the same key.
    const gone = new Map<string, IngressEntry>();
    for (const raw of d.removed) {
      const key = this.validated.get(raw)?.key ?? keyOf(raw);
      const prev = this.entries.get(key);
      if (prev?.raw === raw) gone.set(key, prev);
    }
    // A new class table changes ownership: every Ingress is looked at again (its validation stays cached).
    for (const raw of newClasses ? raws : d.added) {
      const entry = this.entry(raw);
      const key = entry.v.key;
      const prev = gone.get(key) ?? this.entries.get(key);
      gone.delete(key);
      this.entries.set(key, entry);
      this.setFindings(`i:${key}`, entry.diagnostics);
      if (!prev) this.ingressKeys.add(key);
      note(prev, entry);
    }
    for (const [key, prev] of gone) {
      note(prev, undefined);
      this.entries.delete(key);
      this.ingressKeys.delete(key);
      this.findings.delete(`i:${key}`);
    }
    return { changed, tlsTouched, summariesChanged };
  }

  private entry(raw: Obj): IngressEntry {
    let v = this.validated.get(raw);
    if (!v) {
      const { info, findings } = validateIngress(raw, { checkCreateOnlyRules: this.opts.checkCreateOnlyRules });
      v = { key: keyOf(raw), info, findings: findings.list };
      this.validated.set(raw, v);
    }
    if (!v.info) {
      // An invalid Ingress is reported unless it plainly belongs to another controller (rule C8).
      const cls = rawClass(raw);
      const declaresClass = cls.className !== undefined || cls.classAnnotation !== undefined;
      const report = !declaresClass || resolveOwnership(cls, this.classTable, this.opts).owned;
      return { raw, v, owned: false, summary: { ingress: v.key, owned: false, valid: false, classReason: 'invalid' }, diagnostics: report ? v.findings : [] };
    }
    const { owned, reason } = resolveOwnership(v.info, this.classTable, this.opts);
    // Diagnostics about Ingresses of other controllers are not ours to report (rule C8).
    return { raw, v, owned, summary: { ingress: v.key, owned, valid: true, classReason: reason }, diagnostics: owned ? v.findings : [] };
  }

  private index(info: IngressInfo): void {
    for (const k of hostKeysOf(info)) {
      const set = this.hostIndex.get(k) ?? new Set<string>();
      set.add(info.key);
      this.hostIndex.set(k, set);
    }
    if (isCatchAllCandidate(info)) this.catchAllCandidates.add(info.key);
  }

  private unindex(info: IngressInfo): void {
    for (const k of hostKeysOf(info)) {
      const set = this.hostIndex.get(k);
      set?.delete(info.key);
      if (set?.size === 0) this.hostIndex.delete(k);
    }
    this.catchAllCandidates.delete(info.key);
  }

  private rebuildGroup(key: string, affectedBackends: Set<string>): void {
    const members = key === CATCH_ALL_KEY ? this.catchAllCandidates : (this.hostIndex.get(key) ?? new Set<string>());
    const infos = [...members].map((k) => this.effective(this.entries.get(k)!.v.info!));
    const before = this.groups.get(key);
    const secrets = this.secrets.recorder();
    const configMaps = this.configMaps.recorder();
    const routeOpts = { https: this.https, access: this.routeSettings.access, secret: secrets.lookup, configMap: configMaps.lookup, allowedResponseHeaders: this.routeSettings.allowedResponseHeaders, noTlsRedirectLocations: this.routeSettings.noTlsRedirectLocations, ...(this.routeSettings.loadBalance ? { loadBalance: this.routeSettings.loadBalance } : {}) };
    const built = key === CATCH_ALL_KEY ? buildCatchAll(infos, routeOpts) : buildGroup(key, infos, routeOpts);
    this.secrets.record(key, infos.length === 0 ? new Set() : secrets.read);
    this.configMaps.record(key, infos.length === 0 ? new Set() : configMaps.read);
    for (const [name, use] of before?.uses ?? []) {
      affectedBackends.add(name);
      const byGroup = this.uses.get(name);
      byGroup?.delete(key);
      if (byGroup?.size === 0) {
        this.uses.delete(name);
        const service = refServiceKey(use.ref);
        this.backendsByService.get(service)?.delete(name);
        if (this.backendsByService.get(service)?.size === 0) this.backendsByService.delete(service);
      }
    }
    for (const [name, use] of built.uses) {
      affectedBackends.add(name);
      const byGroup = this.uses.get(name) ?? new Map<string, BackendUse>();
      byGroup.set(key, use);
      this.uses.set(name, byGroup);
      const service = refServiceKey(use.ref);
      this.backendsByService.set(service, (this.backendsByService.get(service) ?? new Set<string>()).add(name));
    }
    this.setFindings(`g:${key}`, built.diagnostics);
    if (infos.length === 0) {
      this.groups.delete(key);
      this.groupKeys.delete(key);
      return;
    }
    // An unchanged group keeps its identity: render and the runtime planner skip it by reference.
    if (before && 'group' in before && 'group' in built && built.group && before.group && same(before.group, built.group)) built.group = before.group;
    if (before && 'target' in before && 'target' in built && built.target && before.target && same(before.target, built.target)) built.target = before.target;
    this.groups.set(key, built);
    if (key !== CATCH_ALL_KEY) this.groupKeys.add(key);
  }

  /** Brings the endpoint index up to date; returns the backends whose Service or slices changed. */
  private updateEndpoints(services: Obj[], slices: Obj[]): string[] {
    const changedServices = this.endpoints.update(services, slices);
    if (changedServices.size === 0) return [];
    const affected: string[] = [];
    for (const service of changedServices) for (const name of this.backendsByService.get(service) ?? []) affected.push(name);
    return affected;
  }

  private rebuildBackend(name: string): void {
    const byGroup = this.uses.get(name);
    if (!byGroup) {
      this.findings.delete(`b:${name}`);
      this.backends.delete(name);
      if (this.backendKeys.delete(name)) this.backendSetChanged = true;
      return;
    }
    const users = new Set<string>();
    // The name holds the Service port and the policy, so every group's use of it agrees on both.
    let use: BackendUse | undefined;
    for (const u of byGroup.values()) {
      use = u;
      for (const user of u.users) users.add(user);
    }
    const r = resolveBackend(name, use!.ref, [...users].sort(), this.endpoints.index, use!.policy);
    const before = this.backends.get(name);
    this.backends.set(name, { backend: before && same(before.backend, r.backend) ? before.backend : r.backend, diagnostics: r.diagnostics });
    this.setFindings(`b:${name}`, r.diagnostics);
    if (this.backendKeys.add(name)) this.backendSetChanged = true;
  }

  /** Certificates and SNI bindings equal to the previous ones keep their identity. */
  private keepEqual(prev: ReturnType<typeof buildTls> | undefined, next: ReturnType<typeof buildTls>): ReturnType<typeof buildTls> {
    if (!prev) return next;
    const byId = new Map(prev.certificates.map((c) => [c.id, c] as const));
    next.certificates = next.certificates.map((c) => {
      const old = byId.get(c.id);
      return old && same(old, c) ? old : c;
    });
    if (sameElements(prev.certificates, next.certificates)) next.certificates = prev.certificates;
    if (same(prev.sni, next.sni)) next.sni = prev.sni;
    return next;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function rawClass(raw: Obj): { className: string | undefined; classAnnotation: string | undefined } {
  const spec = isObject(raw.spec) ? raw.spec : {};
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  return {
    className: typeof spec.ingressClassName === 'string' ? spec.ingressClassName : undefined,
    classAnnotation: stringMap(meta.annotations)['kubernetes.io/ingress.class'],
  };
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const k = JSON.stringify(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// Groups whose aliases lost some (to another group's key or alias) are copies; the same copy while nothing changes,
// so that render and plan still skip an unchanged group by reference.
const aliasCopies = new WeakMap<HostGroup, { aliases: string; group: HostGroup }>();

/**
 * server-alias across groups, as ingress-nginx resolves it: an alias that is some group's key is dropped, and one that
 * several groups claim stays with the first in key order.
 */
function withOwnAliases(list: HostGroup[]): HostGroup[] {
  if (!list.some((g) => g.aliases || g.wwwRedirectFrom)) return list;
  const keys = new Set(list.map((g) => g.key));
  const taken = new Set<string>();
  const owned = list.map((g) => {
    if (!g.aliases) return g;
    const own = g.aliases.filter((a) => !keys.has(a) && !taken.has(a));
    for (const a of own) taken.add(a);
    if (own.length === g.aliases.length) return g;
    return copyWith(g, own, g.wwwRedirectFrom);
  });
  // A www redirect only for a name nobody routes (ingress-nginx: "Already exists an Ingress with ... hostname").
  return owned.map((g) => (g.wwwRedirectFrom !== undefined && (keys.has(g.wwwRedirectFrom) || taken.has(g.wwwRedirectFrom)) ? copyWith(g, g.aliases, undefined) : g));
}

function copyWith(g: HostGroup, aliases: string[] | undefined, wwwRedirectFrom: string | undefined): HostGroup {
  const sig = `${(aliases ?? []).join(',')} ${wwwRedirectFrom ?? ''}`;
  const known = aliasCopies.get(g);
  if (known?.aliases === sig) return known.group;
  const copy: HostGroup = { ...g };
  if (aliases && aliases.length > 0) copy.aliases = aliases;
  else delete copy.aliases;
  if (wwwRedirectFrom !== undefined) copy.wwwRedirectFrom = wwwRedirectFrom;
  else delete copy.wwwRedirectFrom;
  aliasCopies.set(g, { aliases: sig, group: copy });
  return copy;
}

/**
 * An alias is offered its host's certificate (nginx serves a server's aliases with the server's), and a www redirect's
 * other name too when the certificate covers it (ingress-nginx's BuildRedirects), unless the name has one of its own.
 */
/**
 * The SNI lines of hosts with handshake options of their own, and of their aliases: client authentication (the host's
 * CA, so the handshake asks for a certificate of it) and ssl-ciphers. A host without a certificate of its own gets a
 * line with the listener's default certificate: without a line of its own its handshake would ask for nothing (every
 * request refused) or offer the listener's ciphers.
 */
function withHostTlsOptions(sni: SniBinding[], groups: HostGroup[]): SniBinding[] {
  if (!groups.some((g) => g.clientAuth || g.sslCiphers !== undefined)) return sni;
  const byHost = new Map(sni.map((b) => [b.host, b]));
  for (const g of groups) {
    if (!g.clientAuth && g.sslCiphers === undefined) continue;
    for (const host of [g.key, ...(g.aliases ?? [])]) {
      const line: SniBinding = { host, certificate: byHost.get(host)?.certificate ?? DEFAULT_CERTIFICATE_ID };
      if (g.clientAuth) line.clientAuth = { ca: g.clientAuth.ca.id, depth: g.clientAuth.depth };
      if (g.sslCiphers !== undefined) line.ciphers = g.sslCiphers;
      byHost.set(host, line);
    }
  }
  return [...byHost.values()].sort((a, b) => cmp(a.host, b.host));
}

function withAliasSni(sni: SniBinding[], groups: HostGroup[], certificates: Certificate[]): SniBinding[] {
  if (!groups.some((g) => g.aliases || g.wwwRedirectFrom)) return sni;
  const bound = new Map(sni.map((b) => [b.host, b.certificate]));
  const added: SniBinding[] = [];
  for (const g of groups) {
    const certificate = bound.get(g.key);
    if (certificate === undefined) continue;
    for (const a of g.aliases ?? []) if (!bound.has(a)) added.push({ host: a, certificate });
    const from = g.wwwRedirectFrom;
    const names = certificates.find((c) => c.id === certificate)?.dnsNames ?? [];
    const covers = (name: string): boolean => names.some((n) => n === name || (n.startsWith('*.') && name.slice(name.indexOf('.')) === n.slice(1)));
    if (from !== undefined && !bound.has(from) && covers(from)) added.push({ host: from, certificate });
  }
  return added.length === 0 ? sni : [...sni, ...added].sort((a, b) => cmp(a.host, b.host));
}

/** retry-non-idempotent: `non_idempotent` added to the route's proxy-next-upstream words (ingress-nginx's
 * buildNextUpstream), its default `error timeout` when it sets none. */
function withRetryNonIdempotent(v: AnnotationValues, on: boolean): AnnotationValues {
  if (!on || v.proxyNextUpstream?.includes('non_idempotent')) return v;
  return { ...v, proxyNextUpstream: [...(v.proxyNextUpstream ?? ['error', 'timeout']), 'non_idempotent'] };
}
