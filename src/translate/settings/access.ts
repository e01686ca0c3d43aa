// Who may use anything at all, controller-wide: ingress-nginx's block lists (its http-level `deny` and the
// `$block_ua`/`$block_ref` maps every server returns 403 on), the defaults of the access-list annotations, and global
// external authentication (`global-auth-*`, `no-auth-locations`). Every key here guards access, so a value that fails
// its grammar never leaves the door open: the access lists refuse requests (503) and global authentication refuses
// the routes it covers (503) until the value is fixed (rule G1). A block list keeps blocking with the entries that
// pass: a typo in one entry must neither unblock the others nor refuse every client of every host.
import type { ExternalAuthPolicy, GlobalAuthSettings, GlobalSettings } from '../../model/types.js';
import type { RouteSettings } from '../../model/settings-route-keys.js';
import { bool, cidrList, quote } from '../annotations/values.js';
import type { Parsed, ValueGrammar } from '../annotations/values.js';
import { authMethod, authResponseHeaders, authUrl, cacheDurations, cacheKey, DEFAULT_CACHE_DURATIONS, redirectParam, requestRedirect, signinUrl } from '../annotations/auth-external.js';
import { authSnippet } from '../annotations/snippets.js';
import { headerPatternProblem } from '../path-regex.js';
import { setting } from './registry.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** A list key's whole value: long enough for thousands of blocks, short of the megabyte a typo or an attack brings. */
const MAX_LIST_CHARS = 256 * 1024;
const MAX_BLOCKS = 10_000;
/** The longest block-list entry: four times that, plus the anchors, is below render's map-word limit (4,096). */
const MAX_ENTRY_CHARS = 1000;
/** map_reg tries every pattern in turn on each request: bounded, as the rule's cost is every client's. */
const MAX_PATTERNS = 500;

/** ingress-nginx's splitAndTrimSpace: comma-separated, each trimmed, empty items dropped. */
function items(raw: string): string[] {
  return raw
    .split(',')
    .map((i) => i.trim())
    .filter((i) => i !== '');
}

/** IP addresses and CIDR blocks, comma-separated; an empty value is an empty list (ingress-nginx's too). */
const cidrs: ValueGrammar<string[]> = {
  describe: 'a comma-separated list of IP addresses or CIDR blocks (empty: none)',
  parse: (raw) => {
    if (raw.length > MAX_LIST_CHARS) return fail(`the value is ${raw.length} characters long; the limit is ${MAX_LIST_CHARS}`);
    const list = items(raw);
    if (list.length > MAX_BLOCKS) return fail(`the value lists ${list.length} blocks; the limit is ${MAX_BLOCKS}`);
    return list.length === 0 ? ok([]) : cidrList.parse(list.join(','));
  },
};

/** A block list with the entries its grammar refused: those are left out and reported (G1), the others block. A
 * blocklist that fails whole would either block nobody or everybody; one bad entry must do neither. */
export interface BlockList {
  entries: string[];
  refused: string[];
}

const ENTRY_LEFT_OUT = 'left out; the other entries apply';

/** block-cidrs, entry by entry. */
const blockCidrs: ValueGrammar<BlockList> = {
  describe: cidrs.describe,
  parse: (raw) => {
    if (raw.length > MAX_LIST_CHARS) return fail(`the value is ${raw.length} characters long; the limit is ${MAX_LIST_CHARS}`);
    const list = items(raw);
    if (list.length > MAX_BLOCKS) return fail(`the value lists ${list.length} blocks; the limit is ${MAX_BLOCKS}`);
    const out: BlockList = { entries: [], refused: [] };
    for (const item of list) {
      const p = cidrList.parse(item);
      if (p.ok) out.entries.push(...p.value.filter((b) => !out.entries.includes(b)));
      else out.refused.push(`${quote(item.length > 200 ? `${item.slice(0, 200)}...` : item)} is not an IP address or CIDR block: ${ENTRY_LEFT_OUT}`);
    }
    return ok(out);
  },
};

// Words nginx's map block reads as its own parameters, not as a value to match (nginx wants them written `\default`).
const MAP_PARAMETERS = new Set(['default', 'hostnames', 'include', 'volatile']);
// An unquoted nginx token: no whitespace, nothing nginx's tokenizer gives a meaning to.
const BARE = /^[\x21-\x7e]+$/;
const NGINX_SYNTAX = /[;{}"'\\]/;

/** A string entry as a PCRE2 pattern matching exactly it, ignoring case (nginx's map compares strings so): every
 * character but letters and digits written `\xHH`, so no text of the entry can mean anything to PCRE2 or the map. */
export function exactPattern(text: string): string {
  return `(?i)^${[...text].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)).join('')}$`;
}

/** One entry of block-user-agents or block-referers, as nginx's map reads it: `~regex` (case-sensitive), `~*regex`
 * (ignoring case), or a string (the whole value, ignoring case), optionally in quotes. */
function blockPattern(entry: string): Parsed<string> {
  // Escaped (`\xHH` for every character but letters and digits), an entry of this length still fits HAProxy's map
  // line; nginx's map, which hashes its values, has no use for longer ones either.
  if (entry.length > MAX_ENTRY_CHARS) return fail(`an entry of ${entry.length} characters (the limit is ${MAX_ENTRY_CHARS})`);
  const quoted = /^(["'])(.*)\1$/.exec(entry);
  const text = quoted ? quoted[2]! : entry;
  if (quoted ? !/^[\x20-\x7e]+$/.test(text) || text.includes(quoted[1]!) || text.includes('\\') : !BARE.test(text) || NGINX_SYNTAX.test(text) || text.startsWith('#'))
    return fail(`${quote(entry)} is not an nginx map value: printable ASCII, no space, quote, backslash, ";", "{" or "}" outside quotes`);
  if (!quoted && MAP_PARAMETERS.has(text)) return fail(`${quote(entry)} is a parameter of nginx's map block, not a value to match (nginx would read "${text}" as the map's own setting)`);
  const regex = /^~(\*?)(.*)$/.exec(text);
  if (!regex) return text === '' ? fail('an empty entry') : ok(exactPattern(text));
  const problem = headerPatternProblem(regex[2]!);
  if (regex[2] === '' || problem !== undefined) return fail(`${quote(entry)}: ${regex[2] === '' ? 'an empty regular expression' : `the expression ${problem!}`}`);
  return ok(`${regex[1] === '*' ? '(?i)' : ''}(?:${regex[2]!})`);
}

/** block-user-agents, block-referers: nginx map values, comma-separated (ingress-nginx splits on commas first). */
const blockPatterns: ValueGrammar<BlockList> = {
  describe: 'a comma-separated list of strings (matched whole, ignoring case) and ~regex or ~*regex entries (empty: none)',
  parse: (raw) => {
    if (raw.length > MAX_LIST_CHARS) return fail(`the value is ${raw.length} characters long; the limit is ${MAX_LIST_CHARS}`);
    const list = items(raw);
    if (list.length > MAX_PATTERNS) return fail(`the value lists ${list.length} entries; the limit is ${MAX_PATTERNS}`);
    const out: BlockList = { entries: [], refused: [] };
    for (const entry of list) {
      const p = blockPattern(entry);
      if (!p.ok) out.refused.push(`${p.reason}: ${ENTRY_LEFT_OUT}`);
      else if (!out.entries.includes(p.value)) out.entries.push(p.value);
    }
    return ok(out);
  },
};

/** no-auth-locations: path prefixes, compared with the Ingress paths as written (never written to HAProxy). */
const locations: ValueGrammar<string[]> = {
  describe: 'a comma-separated list of path prefixes (empty: none)',
  parse: (raw) => {
    if (raw.length > 64 * 1024) return fail(`the value is ${raw.length} characters long; the limit is 65536`);
    const list = items(raw);
    const bad = list.find((l) => !/^[\x21-\x7e]{1,2048}$/.test(l));
    return bad === undefined ? ok([...new Set(list)]) : fail(`${quote(bad)} is not a path prefix of printable ASCII without spaces`);
  },
};

/** A block list's value past its limits blocks nobody: the G1 finding says so. */
const TOO_LONG = { set: (): void => undefined, means: 'the key is ignored: no client is blocked by it until the value is fixed' };

const BLOCK_DIFFERENCES =
  'the 403 comes before anything else answers, redirects and the HTTPS redirect included, and also on paths with their own allowlist (nginx\'s http-level `deny` is replaced there by the location\'s own `allow`/`deny`). An entry Portico refuses is left out and reported (G1) while the other entries apply, where ingress-nginx\'s nginx refuses the whole new configuration and keeps serving the previous one; a value past the limits below is ignored whole (G1).';

const PATTERN_DOC = (header: string): string =>
  `Requests whose ${header} header matches one of the entries get 403 on every host, before anything else answers, as ingress-nginx's \`if ($block_…) { return 403; }\` in every server. Entries are nginx map values: a string matches the whole header ignoring case; \`~regex\` is a case-sensitive regular expression and \`~*regex\` one ignoring case, found anywhere in the value unless anchored; an entry may be quoted ("..." or '...'). Only the first ${header} header is read.`;

const PATTERN_DIFFERENCES = `${BLOCK_DIFFERENCES} Regular expressions pass the grammar of canary-by-header-pattern (letters, digits, \`- . _ ~ / : & =\`, groups, classes, \`| ? * +\`, \`{m,n}\`, escapes such as \`\\s\` and \`\\d\`; no lookaround or backreference; at most 1,024 characters), so that PCRE2 compiles each and none costs exponential time; at most ${MAX_PATTERNS} entries. A request without the header never matches (nginx matches the entries against an empty string). The words \`default\`, \`hostnames\`, \`include\` and \`volatile\` alone are refused (nginx reads them as the map's parameters).`;

/** What global authentication does with a refused value of a key that fails closed. */
const refuseAuth = (key: string) => ({
  set: (s: GlobalSettings) => {
    const g = (s.globalAuth ??= {});
    g.refused = [...new Set([...(g.refused ?? []), key])].sort();
  },
  means: "with global-auth-url set, every route it covers gets 503 until the value is fixed (global authentication fails closed)",
});

const auth = (s: GlobalSettings): GlobalAuthSettings => (s.globalAuth ??= {});

const GLOBAL_AUTH_LIVE = 'Live: a changed value is a route update (map lines); the first route with external authentication takes one reload, which loads its rules.';

export const ACCESS_SETTINGS = [
  setting({
    key: 'block-cidrs',
    grammar: blockCidrs,
    set: (s, list) => (s.blockCidrs = list.entries),
    invalidParts: (list) => list.refused,
    refused: TOO_LONG,
    doc: {
      default: 'none',
      what: "Clients whose address is in one of these IP addresses or CIDR blocks get 403 on every request, on every host, as ingress-nginx's http-level `deny`. The blocks live in a map (`maps/block-cidrs.map`), so a changed list is a runtime map update.",
      differences: `${BLOCK_DIFFERENCES} At most ${MAX_BLOCKS} blocks.`,
      live: 'maps',
    },
  }),
  setting({
    key: 'block-user-agents',
    grammar: blockPatterns,
    set: (s, list) => (s.blockUserAgents = list.entries),
    invalidParts: (list) => list.refused,
    refused: TOO_LONG,
    doc: { default: 'none', what: `${PATTERN_DOC('User-Agent')} The patterns live in a map, so a changed list is a runtime map update.`, differences: PATTERN_DIFFERENCES, live: 'maps' },
  }),
  setting({
    key: 'block-referers',
    grammar: blockPatterns,
    set: (s, list) => (s.blockReferers = list.entries),
    invalidParts: (list) => list.refused,
    refused: TOO_LONG,
    doc: { default: 'none', what: `${PATTERN_DOC('Referer')} The patterns live in a map, so a changed list is a runtime map update.`, differences: PATTERN_DIFFERENCES, live: 'maps' },
  }),
  setting({
    key: 'whitelist-source-range',
    grammar: cidrs,
    set: (s, list) => (s.allowSourceRange = list),
    refused: { set: (s) => (s.allowSourceRange = 'refuse'), means: "every route without its own allowlist annotation gets 503 until the value is fixed (an access list fails closed)" },
    doc: {
      default: 'none: every client',
      what: "The default of the `allowlist-source-range` (`whitelist-source-range`) annotation: on the paths of every Ingress without that annotation, only clients in these blocks are served; others get 403. An Ingress's own annotation replaces it, as ingress-nginx's annotation parser takes this key as its default.",
      differences: "as the annotation's (docs/annotations.md). A value Portico refuses makes the routes it would cover answer 503 (G1); ingress-nginx writes it into nginx's configuration unchecked, which nginx then refuses whole.",
      live: 'routes',
    },
  }),
  setting({
    key: 'denylist-source-range',
    grammar: cidrs,
    set: (s, list) => (s.denySourceRange = list),
    refused: { set: (s) => (s.denySourceRange = 'refuse'), means: "every route without its own denylist annotation gets 503 until the value is fixed (an access list fails closed)" },
    doc: {
      default: 'none',
      what: "The default of the `denylist-source-range` annotation: on the paths of every Ingress without that annotation, clients in these blocks get 403. An Ingress's own annotation replaces it.",
      differences: "as the annotation's (docs/annotations.md). A value Portico refuses makes the routes it would cover answer 503 (G1).",
      live: 'routes',
    },
  }),
  setting({
    key: 'global-auth-url',
    grammar: authUrl,
    set: (s, url) => (auth(s).url = url),
    refused: { ...refuseAuth('global-auth-url'), means: 'every route global authentication would cover (no auth-url of its own, enable-global-auth not false) gets 503 until the value is fixed (global authentication fails closed)' },
    doc: {
      default: 'none: no global authentication',
      what: `External authentication, as the \`auth-url\` annotation does it, for the paths of every Ingress without its own \`auth-url\`, except Ingresses with \`enable-global-auth: "false"\` and paths under \`no-auth-locations\`. The other \`global-auth-*\` keys are the companions of \`auth-*\` annotations of the same names. ${GLOBAL_AUTH_LIVE}`,
      differences: "as `auth-url`'s (docs/annotations.md). A value Portico refuses makes the routes it would cover answer 503 (G1): ingress-nginx logs it and serves them without authentication, which would expose every application the operator meant to protect.",
      live: 'routes',
    },
  }),
  setting({
    key: 'global-auth-method',
    grammar: authMethod,
    set: (s, m) => (auth(s).method = m),
    refused: refuseAuth('global-auth-method'),
    doc: { default: '`GET`', what: 'The method of the request to global-auth-url (auth-method).', differences: "as auth-method's; a refused value makes the covered routes answer 503, where ingress-nginx logs it and keeps GET.", live: 'routes' },
  }),
  setting({
    key: 'global-auth-signin',
    grammar: authUrl,
    set: (s, u) => (auth(s).signin = u),
    doc: { default: 'none: a 401 is answered with 401', what: 'Where a client global-auth-url answered 401 is sent (auth-signin).', differences: "as auth-signin's.", live: 'routes' },
  }),
  setting({
    key: 'global-auth-signin-redirect-param',
    grammar: redirectParam,
    set: (s, p) => (auth(s).signinRedirectParam = p),
    doc: { default: '`rd`', what: 'The query parameter of global-auth-signin that carries the URL the client asked for (auth-signin-redirect-param).', live: 'routes' },
  }),
  setting({
    key: 'global-auth-response-headers',
    grammar: authResponseHeaders,
    set: (s, h) => (auth(s).responseHeaders = h),
    refused: refuseAuth('global-auth-response-headers'),
    doc: { default: 'none', what: "Headers copied from global-auth-url's 2xx answer to the backend's request (auth-response-headers).", differences: "as auth-response-headers'; a refused value makes the covered routes answer 503, where ingress-nginx drops the bad names.", live: 'routes' },
  }),
  setting({
    key: 'global-auth-request-redirect',
    grammar: requestRedirect,
    set: (s, r) => (auth(s).requestRedirect = r),
    refused: refuseAuth('global-auth-request-redirect'),
    doc: { default: 'the request URI', what: 'The X-Auth-Request-Redirect header sent to global-auth-url (auth-request-redirect).', differences: 'a refused value makes the covered routes answer 503; ingress-nginx sends any text.', live: 'routes' },
  }),
  setting({
    key: 'global-auth-cache-key',
    grammar: cacheKey,
    set: (s, k) => (auth(s).cacheKey = k),
    doc: { default: 'none: every request asks', what: "With a key, global-auth-url's answers are kept per route and key for global-auth-cache-duration (auth-cache-key).", differences: "as auth-cache-key's.", live: 'routes' },
  }),
  setting({
    key: 'global-auth-cache-duration',
    grammar: cacheDurations,
    set: (s, d) => (auth(s).cacheDurations = d),
    refused: refuseAuth('global-auth-cache-duration'),
    doc: { default: '`200 202 401 5m`', what: 'How long answers are kept, per status (auth-cache-duration). Only with global-auth-cache-key.', differences: 'a refused value makes the covered routes answer 503; ingress-nginx logs it and caches nothing.', live: 'routes' },
  }),
  setting({
    key: 'global-auth-always-set-cookie',
    grammar: bool,
    set: (s, b) => (auth(s).alwaysSetCookie = b),
    refused: refuseAuth('global-auth-always-set-cookie'),
    doc: { default: '`false`', what: "global-auth-url's Set-Cookie headers reach the client on every status, not only on 2xx and redirects (auth-always-set-cookie).", differences: 'a refused value makes the covered routes answer 503; ingress-nginx logs it and uses false.', live: 'routes' },
  }),
  setting({
    key: 'global-auth-snippet',
    grammar: authSnippet,
    set: (s, snippet) => {
      if (snippet.headers.length > 0) auth(s).requestHeaders = snippet.headers;
    },
    notes: (snippet) => snippet.ignored.map((d) => `${d}: has no effect on the request to global-auth-url, the only request global-auth-snippet applies to; Portico applies only proxy_set_header there`),
    doc: {
      default: 'none',
      what: "Directives for the request to global-auth-url, read as the `auth-snippet` annotation is: each `proxy_set_header Name value` sends that header to the auth service; the other directives Portico translates are reported (G4) and do nothing. A snippet with a directive Portico would not translate is refused whole (G1) and the auth request is sent without it.",
      differences: "as auth-snippet's (docs/annotations.md).",
      live: 'routes',
    },
  }),
  setting({
    key: 'no-auth-locations',
    grammar: locations,
    set: (s, l) => (s.noAuthLocations = l),
    doc: {
      default: '`/.well-known/acme-challenge`',
      what: "Paths that get no external authentication: an Ingress path (as written in the Ingress) starting with one of these is served without asking global-auth-url, nor its own auth-url, as ingress-nginx's template skips auth_request in such a location. Other access rules (allowlists, basic authentication) still apply.",
      live: 'routes',
    },
  }),
];

/** ingress-nginx's NoAuthLocations default: the ACME HTTP-01 challenges cert-manager's solver answers. */
export const DEFAULT_NO_AUTH_LOCATIONS: readonly string[] = ['/.well-known/acme-challenge'];

/** What route policies take from these settings (routes.ts): the access lists' defaults, global authentication as a
 * route's policy, and the paths without external authentication. `refuse`: a value that fails closed was refused. */
export interface AccessDefaults {
  allow?: string[] | 'refuse';
  deny?: string[] | 'refuse';
  externalAuth?: ExternalAuthPolicy | 'refuse';
  noAuthLocations: readonly string[];
}

export function accessDefaults(s: RouteSettings | undefined): AccessDefaults {
  const out: AccessDefaults = { noAuthLocations: s?.noAuthLocations ?? DEFAULT_NO_AUTH_LOCATIONS };
  if (s?.allowSourceRange !== undefined && s.allowSourceRange.length > 0) out.allow = s.allowSourceRange;
  if (s?.denySourceRange !== undefined && s.denySourceRange.length > 0) out.deny = s.denySourceRange;
  const g = s?.globalAuth;
  // Without a URL there is no global authentication, whatever its companions say (as in ingress-nginx), unless the URL
  // itself was refused.
  if (g?.refused?.includes('global-auth-url') || (g?.url !== undefined && (g.refused?.length ?? 0) > 0)) out.externalAuth = 'refuse';
  else if (g?.url !== undefined) {
    const a: ExternalAuthPolicy = { url: g.url, ...(g.method !== undefined ? { method: g.method } : {}), responseHeaders: g.responseHeaders ?? [], alwaysSetCookie: g.alwaysSetCookie ?? false };
    if (g.signin !== undefined) a.signin = signinUrl(g.signin, g.signinRedirectParam ?? 'rd');
    if (g.requestRedirect !== undefined) a.requestRedirect = g.requestRedirect;
    if (g.requestHeaders !== undefined) a.requestHeaders = g.requestHeaders;
    if (g.cacheKey !== undefined) {
      a.cacheKey = g.cacheKey;
      a.cacheDurations = g.cacheDurations ?? DEFAULT_CACHE_DURATIONS;
    }
    out.externalAuth = a;
  }
  return out;
}
