// custom-headers: response headers from a ConfigMap, as ingress-nginx's customheaders parser and its template's
// `more_set_headers "<name>: <value>"` in the location give them: set (replacing the backend's) on every response of
// the Ingress's paths, HAProxy's own answers included. The ConfigMap is read through translate's ConfigMap lookup
// (../configmaps.ts); each key is a header name, each value its literal text (ingress-nginx escapes `$`, so no nginx
// variable is expanded). Names and values pass the snippet annotations' grammar: the names are configuration text (one
// rule per name in use), the values map data.
import type { Diagnostic } from '../../model/types.js';
import type { Obj } from '../../k8s/objects.js';
import { configMapNameGrammar, readConfigMap } from '../configmaps.js';
import type { ConfigMapData } from '../configmaps.js';
import { annotation, NGINX_PREFIX } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { headerNameOf, headerValueOf, templateOf } from './snippets.js';
import type { Parsed } from './values.js';

/** Most headers one ConfigMap gives a route: each distinct name is a rule in the configuration. */
export const MAX_CONFIGMAP_HEADERS = 32;

const FAIL_CLOSED = "every request to this Ingress's paths gets 503 until it is fixed (as ingress-nginx denies the location)";

export const CUSTOM_HEADER_ANNOTATIONS = [
  annotation({
    name: 'custom-headers',
    scope: 'route',
    grammar: configMapNameGrammar,
    set: (v, x) => (v.customHeaders = x),
    doc: {
      default: 'none',
      what:
        "A ConfigMap (`name` in the Ingress's namespace, or `namespace/name`) whose `data` are response headers: each key a header name, its value the header's text, set on every response of this Ingress's paths (replacing the backend's, as nginx's more_set_headers; HAProxy's own answers too), after a configuration-snippet's headers. A ConfigMap that does not exist or lies in another namespace makes every request to the paths get 503 until it is fixed, as ingress-nginx denies the location. Live: a changed value, or a header removed, is a map update; a header name no route used before takes one reload.",
      differences:
        "Allowed names: ingress-nginx (1.12 and later) sets only the names listed in its global ConfigMap's `global-allowed-response-headers` (empty by default: every custom-headers Ingress is denied). Portico honours that key of the settings ConfigMap (`--configmap`, docs/configmap.md: a name outside the list answers 503), but with the key unset it allows every name the snippet annotations may set (letters, digits, `-` and `_`; never Content-Length, Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, Upgrade, TE, Trailer or `x-portico-*`): configuration-snippet's more_set_headers already gives the same authors those names, so the ConfigMap grants nothing more. A key that is not such a name, or a value that is empty, longer than 1,024 characters or not printable ASCII, is left out with a warning on the ConfigMap (rule custom-headers) and the other headers apply, where ingress-nginx denies the location; at most 32 headers (the rest left out the same way). Names are sent lowercase (HAProxy's HTTP/1 writes every header name so). A `name` without namespace is the Ingress's namespace (ingress-nginx looks up the bare name as a key and denies the location), and another namespace is refused (ingress-nginx's docs say so; its code reads it).",
    },
  }),
];

/**
 * What a route of an Ingress gets from custom-headers: headers, nothing, or refusal (503), with the findings.
 * `allowed` (the settings ConfigMap's global-allowed-response-headers, lowercase): a header outside it refuses the
 * route, as ingress-nginx denies the location.
 */
export function customHeadersOf(
  v: AnnotationValues,
  ing: { namespace: string; ref: string },
  lookup: (key: string) => Obj | undefined,
  allowed?: readonly string[],
): { headers?: Record<string, string>; refuse?: true; diagnostics: Diagnostic[] } {
  if (v.customHeaders === undefined) return { diagnostics: [] };
  const field = v.customHeadersField ?? `metadata.annotations[${NGINX_PREFIX}custom-headers]`;
  const read = readConfigMap(v.customHeaders, ing, field, 'custom-headers', lookup, FAIL_CLOSED);
  if ('refused' in read) return { refuse: true, diagnostics: [read.refused] };
  const { headers, diagnostics } = configMapHeaders(read.data, 'custom-headers', (raw) => headerNameOf(raw), literalValueOf);
  const denied = allowed === undefined ? [] : Object.keys(headers).filter((h) => !allowed.includes(h.toLowerCase()));
  if (denied.length > 0) {
    const message = `ConfigMap ${read.data.key} sets ${denied.join(', ')}, which the settings ConfigMap's global-allowed-response-headers does not list: ${FAIL_CLOSED}`;
    return { refuse: true, diagnostics: [...diagnostics, { level: 'warning', object: ing.ref, field, rule: 'custom-headers', message }] };
  }
  return Object.keys(headers).length > 0 ? { headers, diagnostics } : { diagnostics };
}

/**
 * A ConfigMap's entries as headers: name and value each through its rule; a bad entry, a name given twice (keys that
 * differ only in case: the first in key order wins) and entries past MAX_CONFIGMAP_HEADERS, or past `maxChars` of
 * names and values together, are left out with a finding on the ConfigMap that names the key and ends with
 * `consequence`.
 */
export function configMapHeaders(
  data: ConfigMapData,
  rule: string,
  nameOf: (raw: string) => Parsed<string>,
  valueOf: (raw: string) => Parsed<string>,
  maxChars = Infinity,
  consequence = 'this header is left out',
): { headers: Record<string, string>; diagnostics: Diagnostic[] } {
  const headers: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  let count = 0;
  let chars = 0;
  const drop = (key: string, why: string): void => {
    diagnostics.push({ level: 'warning', object: data.object, field: `data[${key}]`, rule, message: `${why}; ${consequence}` });
  };
  for (const [key, raw] of data.entries) {
    const name = nameOf(key);
    if (!name.ok) {
      drop(key, name.reason);
      continue;
    }
    const value = valueOf(raw);
    if (!value.ok) {
      drop(key, value.reason);
      continue;
    }
    if (Object.hasOwn(headers, name.value)) {
      drop(key, `the header ${name.value} is already given by another key of the ConfigMap (the first in key order is used)`);
      continue;
    }
    if (count === MAX_CONFIGMAP_HEADERS) {
      drop(key, `the ConfigMap gives more than ${MAX_CONFIGMAP_HEADERS} headers`);
      continue;
    }
    if (chars + name.value.length + value.value.length > maxChars) {
      drop(key, `the headers' names and values take more than ${maxChars} characters together`);
      continue;
    }
    headers[name.value] = value.value;
    count++;
    chars += name.value.length + value.value.length;
  }
  return { headers, diagnostics };
}

/** custom-headers' values: literal text (ingress-nginx escapes `$`), never empty. */
function literalValueOf(raw: string): Parsed<string> {
  const value = headerValueOf(raw, 'value');
  return value.ok && value.value === '' ? { ok: false, reason: 'the value is empty (ingress-nginx refuses it too)' } : value;
}

/** auth-proxy-set-headers' values: the snippet's value rules, nginx variables kept as templates; empty removes. */
export function proxyHeaderValueOf(raw: string): Parsed<string> {
  const plain = headerValueOf(raw, 'value');
  return plain.ok ? templateOf(plain.value, 'value') : plain;
}
