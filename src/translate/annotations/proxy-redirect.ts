// The rewrites of a backend's response headers: proxy-redirect-from/-to (nginx's proxy_redirect, on Location and on
// Refresh's URL), proxy-cookie-domain and proxy-cookie-path (proxy_cookie_domain/_path, on each Set-Cookie), and the two
// annotations that decide how nginx completes a Location such a rewrite made relative (use-port-in-redirects,
// relative-redirects). Values keep ingress-nginx's alphabets (no `$`, so no nginx variable; no space inside a word),
// and each word is bounded so that a route's whole line stays one map word (render/policy/proxy-redirect.ts).
import type { HeaderRewrite, ProxyRewrite } from '../../model/types.js';
import { headerPatternProblem } from '../path-regex.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { bool, quote, trimSpaces } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';

/** The longest `from` or `to`: six of them and the separators stay within one map word of 4,096 characters. */
export const MAX_REWRITE_WORD = 512;

/** ingress-nginx's URLIsValidRegex (proxy-redirect-*, proxy-cookie-path) and its cookieDomainChars. */
const URL_WORD = /^[-._~A-Za-z0-9/:,?&=]+$/;
const DOMAIN_WORD = /^[-._~A-Za-z0-9/:]+$/;

/** A proxy_redirect's first parameter: `off` and `default` rewrite nothing a backend sends (see the docs text). */
export type RedirectFrom = 'off' | 'default' | Omit<HeaderRewrite, 'to'>;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** Why `raw` is not one word of `alphabet` (described by `chars`) within the bound, or undefined when it is. */
function word(raw: string, alphabet: RegExp, chars: string): string | undefined {
  if (raw.length > MAX_REWRITE_WORD) return `${quote(raw)} is longer than ${MAX_REWRITE_WORD} characters`;
  if (!alphabet.test(raw)) return `${quote(raw)} holds a character other than ${chars}`;
  return undefined;
}

const URL_CHARS = 'letters, digits and - . _ ~ / : , ? & =';
const DOMAIN_CHARS = 'letters, digits and - . _ ~ / :';

/**
 * The text to look for: nginx reads a first parameter starting with `~` as a regular expression (searched for
 * anywhere; `~*` would be caseless, but `*` is outside ingress-nginx's alphabet). Such an expression must also pass
 * Portico's regex grammar, which PCRE2 and nginx's PCRE read alike.
 */
function pattern(raw: string, alphabet: RegExp, chars: string, caseless: boolean): Parsed<Omit<HeaderRewrite, 'to'>> {
  const problem = word(raw, alphabet, chars);
  if (problem) return fail(problem);
  if (!raw.startsWith('~')) return ok({ kind: 'prefix', from: raw });
  const expression = raw.slice(1);
  if (expression === '') return fail(`${quote(raw)} is "~" without an expression`);
  const refused = headerPatternProblem(expression);
  if (refused) return fail(`the expression ${quote(expression)} ${refused}`);
  return ok({ kind: caseless ? 'regexCaseless' : 'regex', from: expression });
}

/** The annotation's words: spaces around them are dropped (nginx's tokenizer does so), a space inside one is refused
 * where ingress-nginx would hand nginx a directive with too many parameters. */
function words(raw: string): string[] {
  return trimSpaces(raw).split(/ +/);
}

const redirectFrom: ValueGrammar<RedirectFrom> = {
  describe: `"off", "default", a URL prefix, or "~" and a regular expression (${URL_CHARS})`,
  parse: (raw) => {
    const w = words(raw);
    if (w.length !== 1) return fail(`${quote(raw)} is more than one word`);
    const v = w[0]!;
    if (v === 'off' || v === 'default') return ok(v);
    return pattern(v, URL_WORD, URL_CHARS, false);
  },
};

const redirectTo: ValueGrammar<string> = {
  describe: `"off" or what replaces the matched part of the Location (${URL_CHARS})`,
  parse: (raw) => {
    const w = words(raw);
    if (w.length !== 1) return fail(`${quote(raw)} is more than one word`);
    const problem = word(w[0]!, URL_WORD, URL_CHARS);
    return problem ? fail(problem) : ok(w[0]!);
  },
};

/** nginx's proxy_cookie_path: `off`, or a prefix (or `~expression`) and its replacement. */
const cookiePath: ValueGrammar<'off' | HeaderRewrite> = {
  describe: `"off", or a path prefix (or "~" and a regular expression) and its replacement, separated by a space (${URL_CHARS})`,
  parse: (raw) => {
    const w = words(raw);
    if (w.length === 1 && w[0] === 'off') return ok('off');
    if (w.length !== 2) return fail(`${quote(raw)} is not "off" or two words (what to replace and its replacement)`);
    const from = pattern(w[0]!, URL_WORD, URL_CHARS, false);
    if (!from.ok) return from;
    const problem = word(w[1]!, URL_WORD, URL_CHARS);
    return problem ? fail(problem) : ok({ ...from.value, to: w[1]! });
  },
};

/**
 * nginx's proxy_cookie_domain: `off`, or a domain (or `~expression`, always caseless) and its replacement. A leading
 * `.` of either word is dropped, as nginx does: the cookie's own leading dot is what stays.
 */
const cookieDomain: ValueGrammar<'off' | HeaderRewrite> = {
  describe: `"off", or a domain (or "~" and a regular expression) and its replacement, separated by a space (${DOMAIN_CHARS})`,
  parse: (raw) => {
    // ingress-nginx's cookieDomainRegex takes exactly `off` or two words; no space trimming there either.
    const w = raw === 'off' ? ['off'] : raw.split(/ +/);
    if (w.length === 1 && w[0] === 'off') return ok('off');
    if (w.length !== 2 || w[0] === '' || w[1] === '') return fail(`${quote(raw)} is not "off" or two words (the domain to replace and its replacement)`);
    const from = pattern(w[0]!, DOMAIN_WORD, DOMAIN_CHARS, true);
    if (!from.ok) return from;
    const problem = word(w[1]!, DOMAIN_WORD, DOMAIN_CHARS);
    if (problem) return fail(problem);
    if (from.value.kind !== 'prefix') return ok({ ...from.value, to: w[1]! });
    const undot = (s: string): string => (s.startsWith('.') ? s.slice(1) : s);
    const [domain, to] = [undot(from.value.from), undot(w[1]!)];
    if (domain === '' || to === '') return fail(`${quote(raw)} names an empty domain`);
    return ok({ kind: 'domain', from: domain, to });
  },
};

const GROWTH_LIMIT = "The rewrites of one response may make its headers longer by about 1 kB in all (HAProxy keeps that much of its 16 kB buffer for rewrites; beyond it a header would be lost): a value whose rewrite would go past that stays as the backend sent it, where nginx has no such bound.";

const REWRITE_SCOPE = 'Only responses of the backend are edited, never Portico\'s own answers (nginx rewrites only what it proxied). Live: a changed value is a map update; the first route to use any of the proxy-redirect or proxy-cookie annotations takes one reload.';

export const PROXY_REDIRECT_ANNOTATIONS = [
  annotation({
    name: 'proxy-redirect-from',
    scope: 'route',
    grammar: redirectFrom,
    set: (v, x) => (v.proxyRedirectFrom = x),
    doc: {
      default: '`off`',
      what: `With proxy-redirect-to, nginx's \`proxy_redirect <from> <to>\`: a Location header of the backend's response that starts with this text (case-sensitive) has that part replaced by proxy-redirect-to, and so has the URL after \`url=\` in a Refresh header; \`~expression\` instead replaces the whole value when the expression is found in it. A rewritten Location that is relative (\`/login\`) is made absolute from the request (\`<scheme>://<Host, lowercase, without port>/login\`), as nginx's absolute_redirect does, unless relative-redirects (use-port-in-redirects adds the listener's port). Without proxy-redirect-to, or with \`off\` or \`default\` here, nothing is rewritten, as in ingress-nginx. ${REWRITE_SCOPE}`,
      differences:
        `\`default\` rewrites nothing: in ingress-nginx it replaces \`http://upstream_balancer/\`, nginx's name for its own upstream, by \`/\`, which no backend sends. A regular expression must also pass Portico's regex grammar (rule A1 otherwise); a value with a space inside a word is refused (ingress-nginx hands nginx a directive it rejects). Each of from and to is at most 512 characters. ${GROWTH_LIMIT} An absolute Location is made only from a Host of letters, digits, \`.\`, \`-\` and \`_\` or an IPv6 literal (with an optional port); with another Host the rewritten Location stays relative.`,
    },
  }),
  annotation({
    name: 'proxy-redirect-to',
    scope: 'route',
    grammar: redirectTo,
    set: (v, x) => (v.proxyRedirectTo = x),
    doc: {
      default: '`off`',
      what: 'What replaces the part of the Location (and Refresh URL) that proxy-redirect-from matched; `off`: no rewrite. Live: a map update.',
      differences: 'as proxy-redirect-from.',
    },
  }),
  annotation({
    name: 'proxy-cookie-domain',
    scope: 'route',
    grammar: cookieDomain,
    set: (v, x) => (v.proxyCookieDomain = x),
    doc: {
      default: '`off`',
      what: `\`<from> <to>\`, nginx's \`proxy_cookie_domain\`: in each Set-Cookie of the backend's response, a Domain attribute equal to \`from\` (case-insensitive, a leading \`.\` ignored on both sides and kept on the cookie) becomes \`to\`; \`~expression\` (case-insensitive) replaces a Domain in which it is found. A rewritten Set-Cookie is written again as nginx writes it: attributes joined by \`; \`, spaces around names and values dropped. ${REWRITE_SCOPE}`,
      differences: `a regular expression must also pass Portico's regex grammar; the words are separated by spaces (ingress-nginx also takes a tab); each word is at most 512 characters. ${GROWTH_LIMIT}`,
    },
  }),
  annotation({
    name: 'proxy-cookie-path',
    scope: 'route',
    grammar: cookiePath,
    set: (v, x) => (v.proxyCookiePath = x),
    doc: {
      default: '`off`',
      what: `\`<from> <to>\`, nginx's \`proxy_cookie_path\`: in each Set-Cookie of the backend's response, a Path attribute starting with \`from\` (case-sensitive) has that part replaced by \`to\` (\`/app/ /\`); \`~expression\` replaces a Path in which it is found. Written again as for proxy-cookie-domain. ${REWRITE_SCOPE}`,
      differences: `a regular expression must also pass Portico's regex grammar; a value that is not \`off\` or exactly two words is refused (ingress-nginx hands nginx a directive it rejects); each word is at most 512 characters. ${GROWTH_LIMIT}`,
    },
  }),
  annotation({
    name: 'use-port-in-redirects',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.usePortInRedirects = x),
    doc: {
      default: '`false`',
      what: "With `true`, a Location that proxy-redirect-from/-to made relative, which is then made absolute, names the port of the listener that took the request unless it is the scheme's default (nginx's `port_in_redirect`, which acts only when nginx completes a relative Location). Live: a map update.",
      differences:
        "nothing else changes: Portico's other redirects are absolute URLs (their annotations ask for one, and the HTTPS and app-root redirects are built absolute, as ingress-nginx's are), which nginx too sends as written; a relative Location of a snippet's `return` is sent as written (configuration-snippet's row), where nginx completes it, with the port when this is set.",
    },
  }),
  annotation({
    name: 'relative-redirects',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.relativeRedirects = x),
    doc: {
      default: '`false`',
      what: "With `true`, a Location that proxy-redirect-from/-to made relative is sent relative (nginx's `absolute_redirect off`) instead of being made absolute from the request. Live: a map update.",
      differences: "a relative Location of a snippet's `return` is always sent as written (configuration-snippet's row), as nginx does only with this set; Portico's other redirects are absolute URLs, which this does not change in nginx either.",
    },
  }),
];

/** The route's response-header rewrites, or undefined when the annotations rewrite nothing (ingress-nginx's template:
 * proxy_redirect only with a from other than `off`/`default` and a to other than `off`). */
export function proxyRewriteOf(v: AnnotationValues): ProxyRewrite | undefined {
  const out: ProxyRewrite = {};
  const from = v.proxyRedirectFrom;
  if (from !== undefined && from !== 'off' && from !== 'default' && v.proxyRedirectTo !== undefined && v.proxyRedirectTo !== 'off') {
    out.redirect = { ...from, to: v.proxyRedirectTo };
    if (v.relativeRedirects === true) out.relativeRedirects = true;
    if (v.usePortInRedirects === true) out.portInRedirects = true;
  }
  if (v.proxyCookieDomain !== undefined && v.proxyCookieDomain !== 'off') out.cookieDomain = v.proxyCookieDomain;
  if (v.proxyCookiePath !== undefined && v.proxyCookiePath !== 'off') out.cookiePath = v.proxyCookiePath;
  return Object.keys(out).length > 0 ? out : undefined;
}
