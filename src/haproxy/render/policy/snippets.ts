// Render side of the snippet annotations (src/translate/annotations/snippets.ts): their header edits and `return`.
// A header name and a status code are configuration text (HAProxy takes neither from a sample), so each family
// writes one rule per name or code in use (PolicyFamily.ruleKeys), after render's own check of it; everything a route
// chooses is map data keyed `<route id>|<name>` or `<route id>|<code>`, so a changed value is a map update and only a
// name or code no route used before takes a reload.
//
// Values hold spaces, quotes, `;`, `#` and `%` in real manifests (`max-age=31536000; includeSubDomains`); a map line
// and a runtime API argument are single words. So values are percent-encoded in the maps (every byte outside a small
// set of plain characters, `%` and `+` included, so HAProxy's `url_dec` turns nothing else into a space) and decoded
// by `url_dec` where they are used, into a header value or a body, never into configuration text.
//
// A value holding nginx variables is a template, which snippet-variables.ts expands per request into a variable of
// its own: its rule key is its kind's with `-template` (`snippet-header:request-set-template:x-original-host`,
// `snippet-return:301:location-template`) and its rule reads that variable instead of a map, so a route whose values
// are all plain keeps the rules above and nothing else.
import type { HeaderEdits, RoutePolicy, SnippetReturn } from '../../../model/types.js';
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';
import { headerSlot, isTemplate, returnSlot, slotVar, TEMPLATE_KINDS } from './snippet-variables.js';
import type { TemplateKind } from './snippet-variables.js';

export const SNIPPET_HEADER_MAPS = {
  snippetRequestSet: 'maps/snippet-request-set.map',
  snippetRequestClear: 'maps/snippet-request-clear.map',
  snippetResponseSet: 'maps/snippet-response-set.map',
  snippetResponseAdd: 'maps/snippet-response-add.map',
  snippetResponseAddAlways: 'maps/snippet-response-add-always.map',
  snippetResponseClear: 'maps/snippet-response-clear.map',
} as const;
type HeaderMap = keyof typeof SNIPPET_HEADER_MAPS;

export const SNIPPET_RETURN_MAPS = {
  snippetReturnLocation: 'maps/snippet-return-location.map',
  snippetReturnText: 'maps/snippet-return-text.map',
  snippetReturnTextLine: 'maps/snippet-return-text-line.map',
  snippetReturnEmpty: 'maps/snippet-return-empty.map',
  snippetClose: 'maps/snippet-close.map',
} as const;
type ReturnMap = keyof typeof SNIPPET_RETURN_MAPS;

/** The kinds of header edit, each with its map and the HeaderEdits field it comes from, in the order they apply. */
const KINDS = [
  { kind: 'request-clear', map: 'snippetRequestClear', field: 'requestClear' },
  { kind: 'request-set', map: 'snippetRequestSet', field: 'requestSet' },
  { kind: 'response-clear', map: 'snippetResponseClear', field: 'responseClear' },
  { kind: 'response-set', map: 'snippetResponseSet', field: 'responseSet' },
  { kind: 'response-add', map: 'snippetResponseAdd', field: 'responseAdd' },
  { kind: 'response-add-always', map: 'snippetResponseAddAlways', field: 'responseAddAlways' },
] as const satisfies readonly { kind: string; map: HeaderMap; field: keyof HeaderEdits }[];

const HEADER_KEY_PREFIX = 'snippet-header:';
const RETURN_KEY_PREFIX = 'snippet-return:';

/** nginx's add_header statuses: HAProxy's own 4xx and 5xx answers, like nginx's, never get an add_header header. */
export const ADD_STATUSES = '200 201 204 206 301 302 303 304 307 308';

// Render's own checks, the same as translate's grammar: a name HAProxy's configuration can hold as it is, and never
// one that framing or Portico's own marker header depends on.
const NAME = /^[a-z0-9][a-z0-9_-]{0,127}$/;
const PROTECTED = /^(content-length|transfer-encoding|connection|keep-alive|proxy-connection|upgrade|te|trailer|x-portico-.*)$/;
const PROTECTED_PREFIXES = ['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'x-portico-'];

/** A header name as configuration text; `*` at the end (clears only) for every name with that start. */
export function headerNameWord(name: string, wildcard: boolean): string {
  const star = wildcard && name.endsWith('*');
  const base = star ? name.slice(0, -1) : name;
  if (!NAME.test(base) || PROTECTED.test(base) || (star && PROTECTED_PREFIXES.some((p) => p.startsWith(base) || base.startsWith(p)))) throw new Error(`render: refusing header name ${JSON.stringify(name)}`);
  return name;
}

const PLAIN = /[A-Za-z0-9._~/:=,@()!*-]/;

/** A value as a map word: printable ASCII (line breaks and tabs too in a body) percent-encoded, never empty. */
export function encodeValue(value: string, body = false): string {
  if (value === '' || value.length > 4096 || (body ? /[^\x20-\x7e\t\r\n]/ : /[^\x20-\x7e]/).test(value)) throw new Error(`render: refusing snippet value ${JSON.stringify(value.slice(0, 80))}`);
  let out = '';
  for (const c of value) out += PLAIN.test(c) ? c : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function headerData(h: HeaderEdits | undefined): PolicyDatum<HeaderMap>[] {
  if (!h) return [];
  const out: PolicyDatum<HeaderMap>[] = [];
  for (const { map, field } of KINDS) {
    const v = h[field];
    if (Array.isArray(v)) for (const name of v) out.push([map, '1', `|${headerNameWord(name, true)}`]);
    else for (const [name, value] of Object.entries(v ?? {})) if (!isTemplate(value)) out.push([map, encodeValue(value), `|${headerNameWord(name, false)}`]);
  }
  return out;
}

const TEMPLATE = '-template';

function headerKeys(p: RoutePolicy): string[] {
  const h = p.headers;
  if (!h) return [];
  return KINDS.flatMap(({ kind, field }) => {
    const v = h[field];
    if (Array.isArray(v)) return v.map((name) => `${HEADER_KEY_PREFIX}${kind}:${name}`);
    return Object.entries(v ?? {}).map(([name, value]) => `${HEADER_KEY_PREFIX}${kind}${isTemplate(value) ? TEMPLATE : ''}:${name}`);
  });
}

/** The rules of the header rule keys in use, in KINDS order, then by name. */
export function headerRules(keys: readonly string[], file: (m: HeaderMap) => string, hasId: string, routeId: string, side: 'request' | 'response'): string[] {
  const out: string[] = [];
  for (const { kind, map } of KINDS) {
    if (!kind.startsWith(side)) continue;
    const verb = side === 'request' ? 'http-request' : 'http-after-response';
    const clear = kind.endsWith('clear');
    const action = clear ? 'del-header' : kind === 'response-set' || kind === 'request-set' ? 'set-header' : 'add-header';
    const statuses = kind === 'response-add' ? ` { status ${ADD_STATUSES} }` : '';
    for (const key of keys) {
      if (!key.startsWith(`${HEADER_KEY_PREFIX}${kind}:`)) continue;
      const name = key.slice(HEADER_KEY_PREFIX.length + kind.length + 1);
      headerNameWord(name, clear);
      const lookup = `${routeId},concat(|${name}),map_str(${file(map)})`;
      const when = `if ${hasId} { ${lookup} -m found }`;
      if (clear) out.push(`${verb} del-header ${name.endsWith('*') ? `${name.slice(0, -1)} -m beg` : name} ${when}`);
      else out.push(`${verb} ${action} ${name} "%[${lookup},url_dec]" ${when}${statuses}`);
    }
    // The templates of this kind, after its plain values: a route has one or the other for a name, and the variable is
    // set only for the request's own route. A value that expands to nothing sets no header and, for the set kinds,
    // removes the one there was, as nginx's proxy_set_header and headers-more do with an empty value.
    if (clear || !(kind in TEMPLATE_KINDS)) continue;
    for (const key of keys) {
      if (!key.startsWith(`${HEADER_KEY_PREFIX}${kind}${TEMPLATE}:`)) continue;
      const name = headerNameWord(key.slice(HEADER_KEY_PREFIX.length + kind.length + TEMPLATE.length + 1), false);
      const v = slotVar(headerSlot(kind as TemplateKind, name));
      if (action === 'set-header') out.push(`${verb} del-header ${name} if { var(${v}) -m len 0 }`);
      out.push(`${verb} ${action} ${name} "%[var(${v})]" if { var(${v}) -m len 1: }${statuses}`);
    }
  }
  return out;
}

export const SNIPPET_HEADERS_FAMILY = policyFamily({
  maps: SNIPPET_HEADER_MAPS,
  data: (p) => headerData(p.headers),
  ruleKeys: { prefix: HEADER_KEY_PREFIX, of: headerKeys },
  rules: {
    upstream: (c) => {
      const rules = headerRules(c.keys, c.file, c.hasId, c.routeId, 'request');
      return rules.length === 0 ? [] : ['# Snippet annotations: the request headers the backend receives (removals, then values).', ...rules];
    },
    response: (c) => {
      const rules = headerRules(c.keys, c.file, c.hasId, c.routeId, 'response');
      return rules.length === 0
        ? []
        : ['# Snippet annotations: response headers (removals, more_set_headers, then add_header: only on its statuses', '# unless "always"), on HAProxy\'s own answers too, as nginx applies them to its own.', ...rules];
    },
  },
});

const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** `text-nl`: a text ending in a line break, which the rule writes (HAProxy's log-format escapes one from a sample). */
type ReturnKind = 'location' | 'text' | 'text-nl' | 'empty' | 'close';

function returnKind(r: SnippetReturn): ReturnKind {
  if (r.code === 444) return 'close';
  if (r.text !== undefined) return r.text.endsWith('\n') ? 'text-nl' : 'text';
  return r.location !== undefined ? 'location' : 'empty';
}

/** Render's own check of a status code and what goes with it (translate's grammar is the same). */
export function returnCode(code: number, kind: ReturnKind): number {
  const ok = Number.isInteger(code) && (kind === 'close' ? code === 444 : code !== 444 && code >= 200 && code <= 599 && (kind !== 'location' || REDIRECT.has(code)) && (!kind.startsWith('text') || (code !== 204 && code !== 304)));
  if (!ok) throw new Error(`render: refusing snippet return ${code} (${kind})`);
  return code;
}

/** A return whose Location or text is a template: its rule reads the expanded variable (snippet-variables.ts). */
const returnTemplate = (r: SnippetReturn): boolean => (r.location !== undefined && isTemplate(r.location)) || (r.text !== undefined && isTemplate(r.text));

function returnData(r: SnippetReturn | undefined): PolicyDatum<ReturnMap>[] {
  if (!r || returnTemplate(r)) return [];
  const kind = returnKind(r);
  const suffix = `|${returnCode(r.code, kind)}`;
  if (kind === 'close') return [['snippetClose', '1']];
  if (kind === 'location') {
    if (/\s/.test(r.location!)) throw new Error(`render: refusing snippet Location ${JSON.stringify(r.location)}`);
    return [['snippetReturnLocation', encodeValue(r.location!), suffix]];
  }
  if (kind === 'text' || kind === 'text-nl') {
    const text = kind === 'text' ? r.text! : r.text!.slice(0, -1);
    if (/[\r\n]/.test(text)) throw new Error(`render: refusing snippet text ${JSON.stringify(text.slice(0, 80))}`);
    return [[RETURN_MAP[kind], encodeValue(text, true), suffix]];
  }
  return [['snippetReturnEmpty', '1', suffix]];
}

const RETURN_MAP: Record<ReturnKind, ReturnMap> = { location: 'snippetReturnLocation', text: 'snippetReturnText', 'text-nl': 'snippetReturnTextLine', empty: 'snippetReturnEmpty', close: 'snippetClose' };

export function returnRules(keys: readonly string[], file: (m: ReturnMap) => string, hasId: string, routeId: string): string[] {
  return keys.map((key) => {
    const [code, full] = key.slice(RETURN_KEY_PREFIX.length).split(':') as [string, string];
    const template = full.endsWith(TEMPLATE);
    const kind = (template ? full.slice(0, -TEMPLATE.length) : full) as ReturnKind;
    if (!(kind in RETURN_MAP) || !/^\d{3}$/.test(code) || (template && kind !== 'location' && kind !== 'text' && kind !== 'text-nl')) throw new Error(`render: refusing snippet return key ${JSON.stringify(key)}`);
    const status = returnCode(Number(code), kind);
    if (template) {
      const v = slotVar(returnSlot(kind as 'location' | 'text' | 'text-nl', status));
      const when = `if { var(${v}) -m found }`;
      if (kind === 'location') return `http-request return status ${status} hdr Location "%[var(${v})]" ${when}`;
      return `http-request return status ${status} content-type "text/html" lf-string "%[var(${v})]${kind === 'text-nl' ? '\\n' : ''}" ${when}`;
    }
    const lookup = kind === 'close' ? `${routeId},map_str(${file('snippetClose')})` : `${routeId},concat(|${status}),map_str(${file(RETURN_MAP[kind])})`;
    const when = `if ${hasId} { ${lookup} -m found }`;
    if (kind === 'close') return `http-request reject ${when}`;
    if (kind === 'location') return `http-request return status ${status} hdr Location "%[${lookup},url_dec]" ${when}`;
    // ingress-nginx's default_type: nginx sends a return's text with it.
    if (kind === 'text' || kind === 'text-nl') return `http-request return status ${status} content-type "text/html" lf-string "%[${lookup},url_dec]${kind === 'text-nl' ? '\\n' : ''}" ${when}`;
    return `http-request return status ${status} ${when}`;
  });
}

export const SNIPPET_RETURN_FAMILY = policyFamily({
  maps: SNIPPET_RETURN_MAPS,
  data: (p) => returnData(p.respond),
  ruleKeys: { prefix: RETURN_KEY_PREFIX, of: (p) => (p.respond ? [`${RETURN_KEY_PREFIX}${p.respond.code}:${returnKind(p.respond)}${returnTemplate(p.respond) ? TEMPLATE : ''}`] : []) },
  rules: {
    answer: (c) => (c.keys.length === 0 ? [] : ['# Snippet annotations: return (after the CORS preflight, before the redirect annotations, as in ingress-nginx).', ...returnRules(c.keys, c.file, c.hasId, c.routeId)]),
  },
});
