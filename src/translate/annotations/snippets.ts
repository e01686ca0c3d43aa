// The snippet annotations: configuration-snippet, server-snippet, auth-snippet and stream-snippet. ingress-nginx
// pasted their text into nginx's configuration, which is how its snippet CVEs happened; Portico never copies a
// snippet anywhere. The text is read with nginx's own tokenizer rules (nginx-directives.ts), and the directives real
// manifests use become typed policy, exactly as if annotations had set it: header edits and `return`, whose values
// may hold the request's nginx variables (kept as templates, expanded per request by render's
// policy/snippet-variables.ts). A snippet with anything else (another directive, a block, a variable Portico does not
// expand, a value Portico refuses) is left out whole, with
// finding A4 naming the directive and the reason, and the Ingress is served without it: a half-applied snippet would
// be a configuration nobody wrote.
import type { HeaderEdits, SnippetReturn } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';
import { tokenize } from './nginx-directives.js';
import type { Directive } from './nginx-directives.js';

/** What one snippet asks for, in the order nginx applies it. */
export interface SnippetPolicy {
  headers: HeaderEdits;
  respond?: SnippetReturn;
  /** add_header directives were present (nginx then inherits none from the server level). */
  hasAdd: boolean;
  /** Request headers set with proxy_set_header, which ingress-nginx's locations never inherit from a server block. */
  proxySet: string[];
}

/** The directives Portico translates, in the docs' order. */
export const SNIPPET_DIRECTIVES = ['more_set_headers', 'more_clear_headers', 'add_header', 'proxy_set_header', 'more_set_input_headers', 'more_clear_input_headers', 'return'] as const;

// Header names reach HAProxy's configuration text (one rule per name in use), so they are held to less than RFC 9110's
// token: letters, digits, `-` and `_`, which every real header name is.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Names a snippet may not touch: message framing and connection handling (request smuggling, broken responses),
 * and Portico's own marker header. */
const PROTECTED = ['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'x-portico-'];
// A value reaches a map percent-encoded, each byte as up to three characters, and a map word holds at most 4,096:
// a longer value would make render refuse the whole configuration, every tenant's.
const MAX_VALUE = 1024;
/** nginx's add_header statuses (ngx_http_headers_filter_module), for docs and render. */
export const ADD_HEADER_STATUSES = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308] as const;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

class Refusal extends Error {}
const refuse = (d: Directive, why: string): never => {
  throw new Refusal(`line ${d.line}: ${d.name}: ${why}`);
};

/**
 * A header name as Portico writes it into configuration text (lowercase; `*` at the end, for a clear, for every name
 * with that start), or why not. Shared by every annotation that sets a header by name (custom-headers too).
 */
export function headerNameOf(raw: string, wildcard = false): Parsed<string> {
  const star = wildcard && raw.endsWith('*') && raw.length > 1;
  const base = star ? raw.slice(0, -1) : raw;
  if (!NAME.test(base)) return { ok: false, reason: `${quote(raw)} is not a header name Portico writes (letters, digits, - and _${wildcard ? ', with an optional * at the end' : ''})` };
  const name = base.toLowerCase();
  const hit = PROTECTED.find((p) => (p.endsWith('-') ? name.startsWith(p) : name === p) || (star && p.startsWith(name)));
  if (hit !== undefined) return { ok: false, reason: `${quote(raw)} ${star ? 'would touch' : 'is'} ${hit.endsWith('-') ? `a ${hit}* header` : quote(hit)}, which framing or Portico itself depends on` };
  return { ok: true, value: star ? `${name}*` : name };
}

function headerName(d: Directive, raw: string, wildcard: boolean): string {
  const r = headerNameOf(raw, wildcard);
  return r.ok ? r.value : refuse(d, r.reason);
}

/**
 * The nginx variables a value may hold, each computed per request from the client's request with nginx's meaning
 * (render/policy/nginx-variables.ts); plus `http_<name>` (a request header), `cookie_<name>` and `arg_<name>` (a
 * query argument). Anything known only once the backend answered (`$upstream_addr`, `$status`, `$sent_http_*`) or
 * that Portico has no value for is refused: HAProxy sets these headers before it could know them, or never.
 */
export const SNIPPET_VARIABLES = ['host', 'http_host', 'request_uri', 'uri', 'args', 'query_string', 'scheme', 'remote_addr', 'request_id', 'request_method', 'server_port', 'proxy_add_x_forwarded_for'] as const;
const KNOWN: ReadonlySet<string> = new Set(SNIPPET_VARIABLES);
const OPEN = /^(http|cookie|arg)_[a-z0-9_]{1,64}$/;
// nginx reads `$name` greedily over letters, digits and `_`, or `${name}` (ngx_http_script_compile).
const VARIABLE = /\$(?:\{([^}]*)\}?|([A-Za-z0-9_]*))/g;
/** The most characters of one snippet's values with variables, with their header names: their line of map data
 * (snippet-vars.map, percent-encoded) must stay a map value for a route with a server-snippet's too. */
const MAX_TEMPLATED = 600;

/**
 * A value as a header or Location may hold it: printable ASCII, with nginx variables of SNIPPET_VARIABLES written
 * `${name}` (lowercase, as nginx's names are case-insensitive), so that render finds each without reading nginx's
 * greedy rule again. A value without `$` is plain text, as before.
 */
/** A header value (or a return's body) as Portico sends it: printable ASCII without surrounding blanks, or why not. */
export function headerValueOf(raw: string, what: string, body = false): Parsed<string> {
  const v = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  if (v.length > MAX_VALUE) return { ok: false, reason: `the ${what} is longer than ${MAX_VALUE} characters` };
  const bad = body ? /[^\x20-\x7e\t\n]/ : /[^\x20-\x7e]/;
  const m = bad.exec(v);
  if (m) return { ok: false, reason: `the ${what} ${quote(v)} holds ${m[0] === '\n' || m[0] === '\r' ? 'a line break' : m[0] < ' ' || m[0] === '\x7f' ? 'a control character' : 'a character outside printable ASCII'}` };
  return { ok: true, value: v };
}

/** A value whose `$` starts an nginx variable: each variable checked against SNIPPET_VARIABLES and written `${name}`. */
export function templateOf(v: string, what: string): Parsed<string> {
  if (!v.includes('$')) return { ok: true, value: v };
  let reason: string | undefined;
  const out = v.replace(VARIABLE, (all: string, braced: string | undefined, bare: string | undefined) => {
    if (reason !== undefined) return all;
    if (braced !== undefined && !all.endsWith('}')) reason = `${quote(all)} in the ${what} has no closing "}"`;
    const name = (braced ?? bare ?? '').toLowerCase();
    if (reason === undefined && name === '') reason = `a "$" in the ${what} starts no variable name (nginx refuses it too)`;
    if (reason === undefined && !KNOWN.has(name) && !OPEN.test(name)) {
      const later = /^(upstream_|sent_http_|status$|body_bytes_sent$|request_time$|bytes_sent$)/.test(name);
      reason = `the nginx variable $${name} ${later ? 'is known only once the backend answered, after HAProxy wrote this header' : 'is not one Portico expands'} (it expands ${SNIPPET_VARIABLES.map((n) => `$${n}`).join(', ')}, $http_<name>, $cookie_<name> and $arg_<name>)`;
    }
    return `\${${name}}`;
  });
  return reason === undefined ? { ok: true, value: out } : { ok: false, reason };
}

function value(d: Directive, raw: string, what: string, body = false): string {
  const plain = headerValueOf(raw, what, body);
  if (!plain.ok) return refuse(d, plain.reason);
  const t = templateOf(plain.value, what);
  return t.ok ? t.value : refuse(d, t.reason);
}

/** The characters of a snippet's values with variables and their names, refused past MAX_TEMPLATED. */
function boundTemplates(d: Directive | undefined, p: SnippetPolicy): void {
  let n = 0;
  for (const m of [p.headers.requestSet, p.headers.responseSet, p.headers.responseAdd, p.headers.responseAddAlways]) for (const [k, v] of Object.entries(m ?? {})) if (v.includes('$')) n += k.length + v.length;
  for (const v of [p.respond?.location, p.respond?.text]) if (v?.includes('$')) n += v.length;
  if (n > MAX_TEMPLATED) throw new Refusal(`${d ? `line ${d.line}: ` : ''}the values with nginx variables take ${n} characters with their header names, more than the ${MAX_TEMPLATED} Portico expands per snippet`);
}

/** headers-more's `Name: value` (a spec without a colon, or with nothing after it, clears the header). */
function headerSpec(d: Directive, spec: string): [name: string, value: string] {
  const colon = spec.indexOf(':');
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  return [headerName(d, name, false), colon < 0 ? '' : value(d, spec.slice(colon + 1), 'value')];
}

/** A header directive's options (`-s`, `-t`, `-r`): refused, so that a value never applies wider than it was asked. */
function noOptions(d: Directive): void {
  const o = d.args.find((a) => a.startsWith('-'));
  if (o !== undefined) refuse(d, `the option ${quote(o)} (${o === '-s' ? 'status list' : o === '-t' ? 'content-type list' : o === '-r' ? 'replace only' : 'unknown'}) is not translated`);
  if (d.args.length === 0) refuse(d, 'no header given');
}

/** An ordered record of set/clear edits on one side: the last edit of a name wins, a wildcard clear removes earlier
 * sets it covers (HAProxy applies the clears, then the sets). */
class Edits {
  readonly set = new Map<string, string>();
  readonly clear = new Set<string>();
  put(name: string, v: string): void {
    if (v === '') return this.remove(name);
    this.clear.delete(name);
    this.set.set(name, v);
  }
  remove(name: string): void {
    if (name.endsWith('*')) {
      const prefix = name.slice(0, -1);
      for (const n of [...this.set.keys()]) if (n.startsWith(prefix)) this.set.delete(n);
    } else this.set.delete(name);
    this.clear.add(name);
  }
}

const sorted = (m: Map<string, string>): Record<string, string> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function returnOf(d: Directive): SnippetReturn {
  const [first, second, ...rest] = d.args;
  if (first === undefined || rest.length > 0) refuse(d, 'takes a status code and an optional text or URL, or a URL alone');
  if (!/^\d{1,3}$/.test(first!)) {
    // nginx takes a URL alone when it starts with http://, https:// or $scheme.
    if (second !== undefined || !/^(https?:\/\/|\$scheme|\$\{scheme\})/i.test(first!)) refuse(d, `${quote(first!)} is not a status code or an http://, https:// or $scheme URL`);
    return { code: 302, location: value(d, first!, 'URL') };
  }
  const code = Number(first);
  if (code !== 444 && (code < 200 || code > 599)) refuse(d, `status ${code} is not translated (200-599, or 444 to close the connection)`);
  if (second === undefined) return { code };
  if (code === 444) refuse(d, '444 closes the connection and sends nothing, so it takes no text');
  if (REDIRECT_CODES.has(code)) {
    const location = value(d, second, 'URL');
    if (location === '' || /\s/.test(location)) refuse(d, `${quote(second)} is not a URL (no spaces)`);
    return { code, location };
  }
  if (code === 204 || code === 304) refuse(d, `status ${code} has no body, so it takes no text`);
  const text = value(d, second, 'text', true);
  // HAProxy's log-format (which writes the body) escapes a line break it reads from a sample, so only the common one
  // at the very end, which the rule writes itself, can be had.
  if (/[\r\n]/.test(text.replace(/\n$/, ''))) refuse(d, 'a line break inside the text is not translated (one at its end is)');
  if (text === '\n') refuse(d, 'a text of a line break alone is not translated');
  return text === '' ? { code } : { code, text };
}

/** The typed policy of one snippet's directives; throws a Refusal naming the first directive that cannot be had. */
function interpret(directives: readonly Directive[]): SnippetPolicy {
  const req = new Edits();
  const res = new Edits();
  const add = new Map<string, string>();
  const addAlways = new Map<string, string>();
  const proxySet: string[] = [];
  let respond: SnippetReturn | undefined;
  for (const d of directives) {
    switch (d.name) {
      case 'more_set_headers':
        noOptions(d);
        for (const spec of d.args) res.put(...headerSpec(d, spec));
        break;
      case 'more_clear_headers':
        noOptions(d);
        for (const n of d.args) res.remove(headerName(d, n.trim(), true));
        break;
      case 'more_set_input_headers':
        noOptions(d);
        for (const spec of d.args) req.put(...headerSpec(d, spec));
        break;
      case 'more_clear_input_headers':
        noOptions(d);
        for (const n of d.args) req.remove(headerName(d, n.trim(), true));
        break;
      case 'proxy_set_header': {
        if (d.args.length !== 2) refuse(d, 'takes a header name and a value');
        const name = headerName(d, d.args[0]!, false);
        req.put(name, value(d, d.args[1]!, 'value'));
        proxySet.push(name);
        break;
      }
      case 'add_header': {
        const always = d.args.length === 3 && d.args[2] === 'always';
        if (d.args.length !== 2 && !always) refuse(d, 'takes a header name, a value and an optional "always"');
        const name = headerName(d, d.args[0]!, false);
        const v = value(d, d.args[1]!, 'value');
        // nginx adds nothing for an empty value.
        if (v === '') break;
        if (add.has(name) || addAlways.has(name)) refuse(d, `${quote(name)} is added twice; Portico adds one value per header name`);
        (always ? addAlways : add).set(name, v);
        break;
      }
      case 'return':
        // The first return answers; nginx never reaches the ones after it.
        respond ??= returnOf(d);
        break;
      default:
        refuse(d, /lua/i.test(d.name) ? 'Lua is never run from an annotation' : `not a directive Portico translates (it translates ${SNIPPET_DIRECTIVES.join(', ')})`);
    }
  }
  const headers: HeaderEdits = {};
  if (req.set.size > 0) headers.requestSet = sorted(req.set);
  if (req.clear.size > 0) headers.requestClear = [...req.clear].sort();
  if (res.set.size > 0) headers.responseSet = sorted(res.set);
  if (add.size > 0) headers.responseAdd = sorted(add);
  if (addAlways.size > 0) headers.responseAddAlways = sorted(addAlways);
  if (res.clear.size > 0) headers.responseClear = [...res.clear].sort();
  const out = { headers, ...(respond ? { respond } : {}), hasAdd: add.size + addAlways.size > 0, proxySet };
  boundTemplates(undefined, out);
  return out;
}

/** What becomes of each directive of a snippet, read alone (`portico check` reports snippets directive by directive):
 * translated, or the reason it is not (which leaves the whole snippet out). A snippet that does not tokenize is one
 * line with the reason. */
export function snippetDirectives(raw: string): { line: number; directive: string; translated: boolean; note: string }[] {
  const t = tokenize(raw);
  if (!t.ok) return [{ line: 0, directive: '', translated: false, note: t.reason }];
  return t.directives.map((d) => {
    try {
      interpret([d]);
      return { line: d.line, directive: d.name, translated: true, note: '' };
    } catch (e) {
      if (e instanceof Refusal) return { line: d.line, directive: d.name, translated: false, note: e.message.replace(/^line \d+: [^:]+: /, '') };
      throw e;
    }
  });
}

/** A snippet's text as typed policy, or the reason it is refused whole. */
export const snippet: ValueGrammar<SnippetPolicy> = {
  describe: `nginx directives: ${SNIPPET_DIRECTIVES.join(', ')}`,
  parse: (raw): Parsed<SnippetPolicy> => {
    const t = tokenize(raw);
    if (!t.ok) return { ok: false, reason: `${t.reason}; the snippet is left out` };
    try {
      return { ok: true, value: interpret(t.directives) };
    } catch (e) {
      if (e instanceof Refusal) return { ok: false, reason: `${e.message}; the snippet is left out` };
      throw e;
    }
  },
};

/** What auth-snippet does in Portico: its proxy_set_header directives, as headers of the request to auth-url. */
export interface AuthSnippet {
  /** Lowercase name -> value (nginx variables written `${name}`); an empty value removes the header. Last one wins. */
  headers: [name: string, value: string][];
  /** The other directives, each `line N: name`, checked but without effect on the auth request. */
  ignored: string[];
}

/**
 * auth-snippet: ingress-nginx pastes it into the location of the auth subrequest, so of Portico's directives only
 * proxy_set_header means something there (a header sent to the auth service). The whole snippet is checked as
 * configuration-snippet is (a directive Portico would not translate refuses it whole), then the others are reported.
 */
export const authSnippet: ValueGrammar<AuthSnippet> = {
  describe: snippet.describe,
  parse: (raw): Parsed<AuthSnippet> => {
    const checked = snippet.parse(raw);
    if (!checked.ok) return checked;
    const t = tokenize(raw);
    if (!t.ok) return { ok: false, reason: t.reason };
    const headers = new Map<string, string>();
    const ignored: string[] = [];
    try {
      for (const d of t.directives) {
        if (d.name !== 'proxy_set_header') {
          ignored.push(`line ${d.line}: ${d.name}`);
          continue;
        }
        const name = headerName(d, d.args[0]!, false);
        // The auth request's Host is auth-url's host: with a `$host` URL it picks the Ingress Portico sends it to.
        if (name === 'host') refuse(d, 'the auth request\'s Host is the host of auth-url; it is not set from a snippet');
        headers.delete(name);
        headers.set(name, value(d, d.args[1]!, 'value'));
      }
    } catch (e) {
      if (e instanceof Refusal) return { ok: false, reason: `${e.message}; the snippet is left out` };
      throw e;
    }
    return { ok: true, value: { headers: [...headers], ignored } };
  },
};

const isEmpty = (h: HeaderEdits): boolean => Object.keys(h).length === 0;

/**
 * A route's header edits and return from its Ingress's configuration-snippet (`location`) and its host's
 * server-snippet (`server`), as nginx combines a location with its server block in ingress-nginx's template:
 * headers-more's directives of both apply, the server's first (so the location's win on a name both set); add_header
 * is inherited from the server only while the location has none; proxy_set_header never is (every location of
 * ingress-nginx sets its own); the server's return answers first.
 */
export function combineSnippets(location: SnippetPolicy | undefined, server: SnippetPolicy | undefined): { headers?: HeaderEdits; respond?: SnippetReturn } {
  if (!server) return location ? { ...(isEmpty(location.headers) ? {} : { headers: location.headers }), ...(location.respond ? { respond: location.respond } : {}) } : {};
  const s = server.headers;
  const l = location?.headers ?? {};
  const req = new Edits();
  const res = new Edits();
  const inherited = new Set(server.proxySet);
  for (const [n, v] of Object.entries(s.requestSet ?? {})) if (!inherited.has(n)) req.put(n, v);
  for (const n of s.requestClear ?? []) if (!inherited.has(n)) req.remove(n);
  for (const n of s.responseClear ?? []) res.remove(n);
  for (const [n, v] of Object.entries(s.responseSet ?? {})) res.put(n, v);
  for (const n of l.requestClear ?? []) req.remove(n);
  for (const [n, v] of Object.entries(l.requestSet ?? {})) req.put(n, v);
  for (const n of l.responseClear ?? []) res.remove(n);
  for (const [n, v] of Object.entries(l.responseSet ?? {})) res.put(n, v);
  const adds = location?.hasAdd ? l : s;
  const headers: HeaderEdits = {};
  if (req.set.size > 0) headers.requestSet = sorted(req.set);
  if (req.clear.size > 0) headers.requestClear = [...req.clear].sort();
  if (res.set.size > 0) headers.responseSet = sorted(res.set);
  if (adds.responseAdd) headers.responseAdd = adds.responseAdd;
  if (adds.responseAddAlways) headers.responseAddAlways = adds.responseAddAlways;
  if (res.clear.size > 0) headers.responseClear = [...res.clear].sort();
  const respond = server.respond ?? location?.respond;
  return { ...(isEmpty(headers) ? {} : { headers }), ...(respond ? { respond } : {}) };
}

const SUPPORTED =
  '`more_set_headers \'Name: value\' ...` (response header on every status, replacing the backend\'s), `more_clear_headers Name ...` (a trailing `*` clears every name with that start), `add_header Name value [always]` (added on 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 only, any status with `always`), `proxy_set_header Name value` and `more_set_input_headers \'Name: value\'` (the request header the backend receives; an empty value removes it), `more_clear_input_headers Name ...`, `return code [text]`, `return code URL` (301, 302, 303, 307, 308) and `return URL` (302); 444 closes the connection. Values, Locations and texts may hold nginx variables, expanded per request with nginx\'s meaning: `$host` (the Host header lowercased, without port or trailing dot), `$http_host` (the Host header as sent), `$request_uri` (path and query), `$uri` (the path, percent-decoded, no query), `$args` and `$query_string` (the query), `$arg_<name>` (a query argument, as sent), `$scheme`, `$remote_addr`, `$request_id` (the X-Request-ID the backend receives), `$request_method`, `$server_port` (Portico\'s listening port), `$http_<name>` (a request header, several joined with `, `), `$cookie_<name>`, `$proxy_add_x_forwarded_for`; `$name` and `${name}` alike.';
const SNIPPET_DIFFERENCES =
  'nothing is pasted into a configuration: a snippet holding any other directive, a block (`if`, `location`), an nginx variable outside the list above (those known only once the backend answered, such as `$upstream_addr`, `$status` or `$sent_http_*`, included; a `$` that starts no name, as nginx refuses too), an option of the headers-more directives (`-s`, `-t`, `-r`) or a name Portico refuses (framing headers such as Content-Length, Transfer-Encoding and Connection, names other than letters, digits, `-`, `_`) is left out whole with warning A4 naming the directive, and the Ingress is served without it. Values are printable ASCII, spaces trimmed. add_header adds one value per name. `return` with a text sends it as `text/html`, as ingress-nginx\'s `default_type`; a code without text sends an empty body where nginx sends its own error page; a relative Location is sent as written where nginx makes it absolute. Order: clears, then sets, then add_header; a snippet\'s headers replace those set by annotations (CORS) and by upstream-vhost, as its directives come later in ingress-nginx\'s location, and its `return` comes after the CORS preflight and before the redirect annotations, as there (so it wins over `permanent-redirect` and the HTTPS redirect). A header name not yet in use by any route takes one reload (the name is a rule of its own); values and the rest are map updates. Variables: they are read from the request as the client sent it, after Portico\'s forwarding headers (`$http_x_forwarded_for` is the client\'s list without Portico\'s address, `$http_x_real_ip`, `$http_x_forwarded_host`/`-proto`/`-port` are Portico\'s values) and after HAProxy normalised the path (`$request_uri` and `$uri` are the path the backend receives; `$uri` merges no slashes); `$request_id` is the client\'s X-Request-ID when it sent one, where nginx\'s is always new (ingress-nginx\'s `$req_id`). A value that expands to nothing sets no header and removes the one there was, as in nginx. A control character in an expanded value is written `%XX` (`$uri` decodes `%0D%0A`: nginx would send the line break), and so is every byte of a Location outside printable ASCII. A request whose Host is not a host name (letters, digits, `.` and `-`, or an IPv6 literal, with an optional port; nginx takes a few more characters, such as `_`) gets 400 when a value uses `$host` or `$http_host`, and so does one whose expanded value would pass 8 KiB. The values with variables of one snippet, with their header names, take at most 600 characters; changing a value between plain text and one with variables takes a reload.';

export const SNIPPET_ANNOTATIONS = [
  annotation({
    name: 'configuration-snippet',
    scope: 'route',
    grammar: snippet,
    set: (v, x) => (v.configurationSnippet = x),
    refusal: 'A4',
    doc: {
      default: 'none',
      what: `nginx directives for this Ingress's paths, translated into header edits and answers, never copied: ${SUPPORTED} Live: changed values are map updates.`,
      differences: SNIPPET_DIFFERENCES,
    },
  }),
  annotation({
    name: 'server-snippet',
    scope: 'ingress',
    grammar: snippet,
    set: (v, x) => (v.serverSnippet = x),
    refusal: 'A4',
    notes: (x) => (x.proxySet.length > 0 ? [`proxy_set_header ${x.proxySet.join(', ')}: has no effect in a server-snippet, as in ingress-nginx, whose every location sets its own request headers; use configuration-snippet`] : []),
    doc: {
      default: 'none',
      what: `The same directives as configuration-snippet, for every path of every Ingress on the hosts of this Ingress's rules, as nginx applies a server block: its headers-more edits come before each path's own (configuration-snippet wins on a name both set), its add_header applies only to paths whose configuration-snippet has none, its proxy_set_header has no effect (warning A4; ingress-nginx's locations never inherit it), its \`return\` answers the whole host. When several Ingresses on one host have one, the oldest wins and the others get warning A5, as ingress-nginx keeps the first.`,
      differences: `${SNIPPET_DIFFERENCES} A path no Ingress routes still gets Portico's 404, not the server-snippet's return; an allowed CORS preflight is answered before it.`,
    },
  }),
  annotation({
    name: 'auth-snippet',
    scope: 'route',
    grammar: authSnippet,
    set: (v, x) => (v.authSnippet = x),
    refusal: 'A4',
    notes: (x) => x.ignored.map((d) => `${d}: has no effect on the request to auth-url's service, the only request auth-snippet applies to; Portico applies only proxy_set_header there`),
    doc: {
      default: 'none',
      what:
        "Directives for the request to `auth-url`'s service, where ingress-nginx pastes them (its auth location): each `proxy_set_header Name value` sends that header to the auth service, replacing what Portico would send under that name (the client's header, or X-Original-URL and the others ingress-nginx's auth location sets); an empty value sends none. Values may hold the nginx variables configuration-snippet takes. Checked as configuration-snippet is: a directive Portico would not translate refuses the whole snippet (A4); the others it translates (more_set_headers, add_header, return, ...) are reported (A4) and do nothing, since they would act on the auth request's answer or its location. Without `auth-url` it does nothing, as in ingress-nginx. Live: a changed header is a map update.",
      differences:
        "a name nginx's auth location already sets (X-Original-URL, X-Original-Method, X-Sent-From, X-Real-IP, X-Forwarded-For, X-Auth-Request-Redirect, and X-Original-URI/X-Scheme with auth-method) is replaced, where nginx sends both values; `Host` is refused (A4): the auth request's Host is auth-url's host. A control character an expanded variable brings is sent as `%XX`; a value that expands past 8 KiB fails the request closed (500).",
    },
  }),
  annotation({
    name: 'stream-snippet',
    scope: 'ingress',
    grammar: { describe: 'nothing: refused', parse: () => ({ ok: false, reason: "stream-snippet configures nginx's TCP/UDP proxy, which Portico does not translate; it is ignored" }) },
    set: () => undefined,
    refusal: 'A4',
    doc: { default: 'none', what: 'Refused with warning A4: it configures nginx\'s TCP/UDP stream block, which has no translation.', differences: 'ignored, with warning A4.', status: 'refused, with warning A4' },
  }),
];

export function routeSnippets(v: AnnotationValues, server: SnippetPolicy | undefined): { headers?: HeaderEdits; respond?: SnippetReturn } {
  return combineSnippets(v.configurationSnippet, server);
}
