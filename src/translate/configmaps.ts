// ConfigMaps as annotations name them (custom-headers, auth-proxy-set-headers; fastcgi-params-configmap next): the
// reference grammar, and the typed read of one through the lookup translate hands to routes (RouteOptions.configMap),
// which records every key a host group asks for, found or not. So a ConfigMap no Ingress names costs no translation
// when it changes, and one that appears later rebuilds the groups that were waiting for it.
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import type { Diagnostic } from '../model/types.js';
import { objectRef } from './diagnostics.js';
import { quote } from './annotations/values.js';
import type { Parsed, ValueGrammar } from './annotations/values.js';

export interface ConfigMapName {
  /** Absent: the Ingress's own namespace. */
  namespace?: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `name` or `namespace/name` (client-go's SplitMetaNamespaceKey), each part a Kubernetes name. */
export const configMapNameGrammar: ValueGrammar<ConfigMapName> = {
  describe: 'a ConfigMap name, or namespace/name',
  parse: (raw): Parsed<ConfigMapName> => {
    const parts = raw.split('/');
    const name = parts[parts.length - 1]!;
    const namespace = parts.length === 2 ? parts[0]! : undefined;
    if (parts.length > 2 || !DNS_SUBDOMAIN.test(name) || (namespace !== undefined && !DNS_LABEL.test(namespace))) return { ok: false, reason: `${quote(raw)} is not a ConfigMap name or namespace/name` };
    return { ok: true, value: namespace === undefined ? { name } : { namespace, name } };
  },
};

/** The ConfigMap key a group's lookup is asked for: `namespace/name`. */
export function configMapKey(ref: ConfigMapName, ingressNamespace: string): string {
  return `${ref.namespace ?? ingressNamespace}/${ref.name}`;
}

/** A ConfigMap's `data` as the annotation reading it gets it: sorted by key, string values only. */
export interface ConfigMapData {
  /** `namespace/name`. */
  key: string;
  /** The diagnostic object of the ConfigMap (`ConfigMap namespace/name`), for findings about one of its keys. */
  object: string;
  entries: [key: string, value: string][];
}

/**
 * The data of the ConfigMap `ref` names for an Ingress, or the finding that says why there is none: another
 * namespace (an Ingress may read only its own, as ingress-nginx's docs say), or no such ConfigMap. `field` is the
 * annotation the reference came from; the finding names it on the Ingress.
 */
export function readConfigMap(
  ref: ConfigMapName,
  ing: { namespace: string; ref: string },
  field: string,
  rule: string,
  lookup: (key: string) => Obj | undefined,
  consequence: string,
): { data: ConfigMapData } | { refused: Diagnostic } {
  const key = configMapKey(ref, ing.namespace);
  const refuse = (why: string): { refused: Diagnostic } => ({ refused: { level: 'warning', object: ing.ref, field, rule, message: `ConfigMap ${key} ${why}: ${consequence}` } });
  if (key.slice(0, key.indexOf('/')) !== ing.namespace) return refuse('is in another namespace, which an Ingress may not use');
  const cm = lookup(key);
  if (!cm) return refuse('was not found');
  return { data: { key, object: objectRef('ConfigMap', { namespace: key.slice(0, key.indexOf('/')), name: ref.name }), entries: configMapEntries(cm) } };
}

const entriesOf = new WeakMap<Obj, [string, string][]>();

/** A ConfigMap's string data, sorted by key (computed once per object). */
export function configMapEntries(cm: Obj): [string, string][] {
  let known = entriesOf.get(cm);
  if (known) return known;
  const data = isObject(cm.data) ? cm.data : {};
  known = Object.entries(data)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  entriesOf.set(cm, known);
  return known;
}
