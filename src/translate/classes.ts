// Rules C1-C9 and V25: which Ingresses Portico owns.
import { Findings, objectRef } from './diagnostics.js';
import { isDns1123Subdomain, isDomainPrefixedPath } from './grammar.js';
import { isObject, stringMap } from '../k8s/objects.js';
import type { IngressInfo } from './validate-ingress.js';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface IngressClassInfo {
  name: string;
  controller: string;
  isDefault: boolean;
}

export interface ClassOptions {
  controllerName: string;
  /** Legacy `kubernetes.io/ingress.class` annotation value Portico answers to (rule C4). */
  ingressClass: string;
  /** --watch-ingress-without-class: an Ingress naming no class at all is ours even with no default class (rule C5). */
  watchIngressWithoutClass?: boolean | undefined;
}

export function validateIngressClass(raw: Record<string, unknown>): { info: IngressClassInfo | undefined; findings: Findings } {
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const f = new Findings(objectRef('IngressClass', { name }));
  if (!isDns1123Subdomain(name)) f.error('metadata.name', 'V2', 'name must be a DNS-1123 subdomain');
  const spec = isObject(raw.spec) ? raw.spec : {};
  const controller = typeof spec.controller === 'string' ? spec.controller : '';
  if (controller === '') f.error('spec.controller', 'V25', 'controller is required');
  else if (!isDomainPrefixedPath(controller))
    f.error('spec.controller', 'V25', 'controller must be a domain-prefixed path of at most 250 characters (e.g. example.com/ingress-controller)');
  if (spec.parameters !== undefined && spec.parameters !== null) {
    const p = isObject(spec.parameters) ? spec.parameters : {};
    if (typeof p.kind !== 'string' || p.kind === '') f.error('spec.parameters.kind', 'V25', 'kind is required');
    if (typeof p.name !== 'string' || p.name === '') f.error('spec.parameters.name', 'V25', 'name is required');
    const scope = p.scope ?? 'Cluster';
    if (scope !== 'Cluster' && scope !== 'Namespace') f.error('spec.parameters.scope', 'V25', 'scope must be Cluster or Namespace');
    const hasNs = p.namespace !== undefined && p.namespace !== null && p.namespace !== '';
    if (scope === 'Namespace' && !hasNs) f.error('spec.parameters.namespace', 'V25', 'namespace is required when scope is Namespace');
    if (scope === 'Cluster' && hasNs) f.error('spec.parameters.namespace', 'V25', 'namespace is forbidden when scope is Cluster');
  }
  const isDefault = stringMap(meta.annotations)[DEFAULT_CLASS_ANNOTATION] === 'true';
  return { info: f.hasErrors ? undefined : { name, controller, isDefault }, findings: f };
}

/** Decides ownership for one Ingress; the reason is shown to users who wonder why an Ingress is ignored. */
export function resolveOwnership(
  ing: Pick<IngressInfo, 'className' | 'classAnnotation'>,
  classes: Map<string, IngressClassInfo>,
  opts: ClassOptions,
): { owned: boolean; reason: string } {
  const ours = (c: IngressClassInfo | undefined): boolean => c !== undefined && c.controller === opts.controllerName;
  if (ing.className !== undefined) {
    const c = classes.get(ing.className);
    if (!c) return { owned: false, reason: `IngressClass ${ing.className} does not exist or is invalid (C3)` };
    return ours(c)
      ? { owned: true, reason: `spec.ingressClassName ${ing.className} (C2)` }
      : { owned: false, reason: `IngressClass ${ing.className} belongs to controller ${c.controller} (C2)` };
  }
  if (ing.classAnnotation !== undefined) {
    // Quoted: the value is anyone's text (empty, or with line breaks that would pass for a reason of its own).
    const value = JSON.stringify(ing.classAnnotation);
    if (ing.classAnnotation === opts.ingressClass || ours(classes.get(ing.classAnnotation)))
      return { owned: true, reason: `annotation kubernetes.io/ingress.class ${value} (C4)` };
    return { owned: false, reason: `annotation kubernetes.io/ingress.class ${value} is not ours (C4)` };
  }
  const defaults = [...classes.values()].filter((c) => c.isDefault && ours(c));
  if (defaults.length > 0) return { owned: true, reason: `no class set; default IngressClass ${defaults.map((c) => c.name).sort().join(',')} is ours (C5)` };
  // ingress-nginx's flag of the same name: during a migration, class-less Ingresses can follow the controller that
  // was serving them without anyone marking a class default (which would also change what the API server does).
  return opts.watchIngressWithoutClass === true
    ? { owned: true, reason: 'no class set; --watch-ingress-without-class is on (C5)' }
    : { owned: false, reason: 'no class set, none of our IngressClasses is the default, and --watch-ingress-without-class is off (C5)' };
}
