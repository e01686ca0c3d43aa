// translate(snapshot) -> { model, diagnostics }: pure and deterministic. No I/O, no clock; shuffling the input
// does not change the output. An invalid object yields diagnostics and is left out; it never stops the others.
import type { Backend, Diagnostic, IngressSummary, TranslateResult } from '../model/types.js';
import { resolveOwnership, validateIngressClass } from './classes.js';
import type { IngressClassInfo } from './classes.js';
import { cmp, sortDiagnostics } from './diagnostics.js';
import { indexEndpoints, resolveBackend } from './endpoints.js';
import { buildRoutes } from './routes.js';
import { buildTls } from './tls.js';
import { isObject, stringMap, validateIngress } from './validate-ingress.js';
import type { IngressInfo } from './validate-ingress.js';

type Obj = Record<string, unknown>;

/** The objects translate reads: what a source put in the store, one list per kind. */
export interface Snapshot {
  ingresses: Obj[];
  ingressClasses: Obj[];
  services: Obj[];
  endpointSlices: Obj[];
  secrets: Obj[];
}

export interface TranslateOptions {
  controllerName: string;
  ingressClass: string;
  /** Manifest mode: behave as if our IngressClass existed (marked default) when the input defines none by that name. */
  implicitIngressClass: boolean;
  /** Rule V4 is checked on create only: true for manifests, false for objects an API server already admitted. */
  checkCreateOnlyRules: boolean;
  sslRedirect: boolean;
  /** `namespace/name` of the Secret given by --default-ssl-certificate. */
  defaultCertificateSecret?: string | undefined;
}

export function emptySnapshot(): Snapshot {
  return { ingresses: [], ingressClasses: [], services: [], endpointSlices: [], secrets: [] };
}

function keyOf(o: Obj): string {
  const m = isObject(o.metadata) ? o.metadata : {};
  const ns = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
  return `${ns}/${typeof m.name === 'string' ? m.name : ''}`;
}

export function translate(snapshot: Snapshot, opts: TranslateOptions): TranslateResult {
  const diagnostics: Diagnostic[] = [];

  const classes = new Map<string, IngressClassInfo>();
  const classNames = new Set<string>();
  for (const raw of [...snapshot.ingressClasses].sort((a, b) => cmp(keyOf(a), keyOf(b)))) {
    const { info, findings } = validateIngressClass(raw);
    diagnostics.push(...findings.list);
    if (info) classes.set(info.name, info);
    const meta = isObject(raw.metadata) ? raw.metadata : {};
    if (typeof meta.name === 'string') classNames.add(meta.name);
  }
  // A class by that name that the user defined, even an invalid one, is theirs to decide about: no stand-in.
  if (opts.implicitIngressClass && !classNames.has(opts.ingressClass))
    classes.set(opts.ingressClass, { name: opts.ingressClass, controller: opts.controllerName, isDefault: true });

  const owned: IngressInfo[] = [];
  const ingresses: IngressSummary[] = [];
  for (const raw of [...snapshot.ingresses].sort((a, b) => cmp(keyOf(a), keyOf(b)))) {
    const { info, findings } = validateIngress(raw, { checkCreateOnlyRules: opts.checkCreateOnlyRules });
    const key = keyOf(raw);
    if (!info) {
      // An invalid Ingress is reported unless it plainly belongs to another controller (rule C8).
      const cls = rawClass(raw);
      const declaresClass = cls.className !== undefined || cls.classAnnotation !== undefined;
      if (!declaresClass || resolveOwnership(cls, classes, opts).owned) diagnostics.push(...findings.list);
      ingresses.push({ ingress: key, owned: false, valid: false, classReason: 'invalid' });
      continue;
    }
    const { owned: isOwned, reason } = resolveOwnership(info, classes, opts);
    // Diagnostics about Ingresses of other controllers are not ours to report (rule C8).
    if (isOwned) diagnostics.push(...findings.list);
    ingresses.push({ ingress: key, owned: isOwned, valid: true, classReason: reason });
    if (isOwned) owned.push(info);
  }

  const routes = buildRoutes(owned, { sslRedirect: opts.sslRedirect });
  diagnostics.push(...routes.diagnostics);

  const idx = indexEndpoints(snapshot.services, snapshot.endpointSlices);
  const backends: Backend[] = [];
  for (const [name, { ref, users }] of [...routes.serviceRefs.entries()].sort(([a], [b]) => cmp(a, b))) {
    const r = resolveBackend(name, ref, [...users].sort(), idx);
    backends.push(r.backend);
    diagnostics.push(...r.diagnostics);
  }

  const secrets = new Map(snapshot.secrets.map((s) => [keyOf(s), s] as const));
  const tls = buildTls(owned, secrets, opts.defaultCertificateSecret);
  diagnostics.push(...tls.diagnostics);

  const model: TranslateResult['model'] = {
    hostGroups: routes.hostGroups,
    backends,
    certificates: tls.certificates,
    sni: tls.sni,
    ingresses,
  };
  if (routes.catchAll) model.catchAll = routes.catchAll;
  if (tls.defaultCertificate) model.defaultCertificate = tls.defaultCertificate;
  return { model, diagnostics: dedupe(sortDiagnostics(diagnostics)) };
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
