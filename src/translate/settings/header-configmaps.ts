// add-headers and proxy-set-headers name ConfigMaps of headers: read here, after the settings ConfigMap, through the
// lookup translate hands over (which records each key asked for, so that a change to one of these ConfigMaps reads
// the settings again). Each entry is a header through the snippet annotations' name and value grammars; nginx
// variables are kept as `${name}` templates, limited to those render can write from a request (global-http.ts).
import type { Obj } from '../../k8s/objects.js';
import type { Diagnostic, GlobalSettings } from '../../model/types.js';
import { configMapEntries } from '../configmaps.js';
import { objectRef } from '../diagnostics.js';
import { configMapHeaders } from '../annotations/custom-headers.js';
import { headerNameOf, headerValueOf, templateOf } from '../annotations/snippets.js';
import type { Parsed } from '../annotations/values.js';

/** The nginx variables a global header's value may hold: what a request tells before it is routed. */
export const GLOBAL_HEADER_VARIABLES = ['scheme', 'server_port', 'remote_addr', 'host', 'http_host', 'request_uri', 'uri', 'args', 'query_string', 'request_method', 'request_id'] as const;
const KNOWN: ReadonlySet<string> = new Set(GLOBAL_HEADER_VARIABLES);
const OPEN = /^(http|cookie|arg)_[a-z0-9_]{1,64}$/;
const EXPANDS = `it expands ${GLOBAL_HEADER_VARIABLES.map((n) => `$${n}`).join(', ')}, $http_<name>, $cookie_<name> and $arg_<name>`;

/** A value: printable ASCII of at most 1,024 characters, its variables among GLOBAL_HEADER_VARIABLES and the open
 * families; empty is allowed (the header is removed, as nginx's empty proxy_set_header and more_set_headers do). */
export function globalHeaderValueOf(raw: string): Parsed<string> {
  const plain = headerValueOf(raw, 'value');
  if (!plain.ok) return plain;
  const t = templateOf(plain.value, 'value');
  // templateOf names the snippets' variables, a longer list than render writes here: the reason names this one's.
  if (!t.ok) return { ok: false, reason: t.reason.replace(/ \(it expands [^)]*\)$/, ` (${EXPANDS})`) };
  const other = [...t.value.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!).find((n) => !KNOWN.has(n) && !OPEN.test(n));
  if (other !== undefined) return { ok: false, reason: `the nginx variable $${other} is not one Portico expands in a controller-wide header (${EXPANDS})` };
  return t;
}

const KINDS = [
  { key: 'add-headers', from: 'addHeadersConfigMap', to: 'addHeaders' },
  { key: 'proxy-set-headers', from: 'proxySetHeadersConfigMap', to: 'proxySetHeaders' },
] as const;

/** The ConfigMaps add-headers and proxy-set-headers name (`namespace/name`), by key: what readHeaderConfigMaps reads. */
export function headerConfigMapReferences(settings: GlobalSettings): { key: string; kind: 'ConfigMap'; name: string }[] {
  return KINDS.flatMap((k) => (settings[k.from] === undefined ? [] : [{ key: k.key, kind: 'ConfigMap' as const, name: settings[k.from]! }]));
}

/**
 * Fills `settings.addHeaders` and `settings.proxySetHeaders` from the ConfigMaps their keys name. A ConfigMap that
 * does not exist adds no header (as in ingress-nginx, which logs it), with a warning on the settings ConfigMap's key;
 * a bad entry is left out with a warning on the headers' ConfigMap (rule add-headers or proxy-set-headers).
 */
export function readHeaderConfigMaps(settings: GlobalSettings, lookup: (key: string) => Obj | undefined, settingsObject: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const kind of KINDS) {
    const key = settings[kind.from];
    if (key === undefined) continue;
    const cm = lookup(key);
    if (!cm) {
      diagnostics.push({ level: 'warning', object: settingsObject, field: `data[${kind.key}]`, rule: kind.key, message: `ConfigMap ${key} was not found: no header is ${kind.key === 'add-headers' ? 'added to responses' : 'set on requests'} until it exists` });
      continue;
    }
    const slash = key.indexOf('/');
    const data = { key, object: objectRef('ConfigMap', { namespace: key.slice(0, slash), name: key.slice(slash + 1) }), entries: configMapEntries(cm) };
    const read = configMapHeaders(data, kind.key, (raw) => headerNameOf(raw), globalHeaderValueOf);
    diagnostics.push(...read.diagnostics);
    if (Object.keys(read.headers).length > 0) settings[kind.to] = read.headers;
  }
  return diagnostics;
}
