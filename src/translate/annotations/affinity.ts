// Cookie session affinity: `affinity: cookie` and the session-cookie-* annotations, as ingress-nginx reads them
// (its annotations/sessionaffinity) and its sticky balancer writes the cookie (balancer/sticky*.lua). The route's
// Service port becomes a sticky backend (a section that balances on the cookie's key); the cookie's name and
// attributes are route data, so a changed attribute is a map update.
import { createHash } from 'node:crypto';
import type { AffinityPolicy, ServiceRef } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import type { Findings } from '../diagnostics.js';
import { bool, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's default `session-cookie-name`. */
export const DEFAULT_COOKIE = 'INGRESSCOOKIE';

/** A grammar over the trimmed value (ingress-nginx's normalizeString trims spaces; no grammar here admits a line break). */
function trimmed<T>(describe: string, re: RegExp, out: (s: string) => T): ValueGrammar<T> {
  return {
    describe,
    parse: (raw) => {
      const s = trimSpaces(raw);
      return re.test(s) ? { ok: true, value: out(s) } : { ok: false, reason: `${quote(raw)} is not ${describe}` };
    },
  };
}

/** Exactly one of `words`, case-sensitive (ingress-nginx's ValidateOptions with caseSensitive set). */
function word<const W extends string>(words: readonly W[]): ValueGrammar<W> {
  return trimmed(`one of ${words.map((w) => `"${w}"`).join(', ')} (lowercase)`, new RegExp(`^(${words.join('|')})$`), (s) => s as W);
}

// ingress-nginx's BasicCharsRegex (letters, digits, `- . _ ~ / :`): no `;`, `,`, `=` or space, so a name or a domain
// can neither end the cookie nor add an attribute.
const BASIC = /^[-._~A-Za-z0-9/:]{1,256}$/;
// Its URLIsValidRegex, which session-cookie-path passes: the basic characters and `, ? & =`.
const URL_CHARS = /^[-._~A-Za-z0-9/:,?&=]{1,1024}$/;
// Its affinityCookieExpiresRegex, `(^0|-?[1-9]\d*$)`, is unanchored (it takes `0x` and `x1`); Portico takes the
// numbers that regex was meant for, in the range of a 32-bit integer.
const SECONDS = /^(0|-?[1-9]\d{0,9})$/;

export const cookieName = trimmed('a cookie name of letters, digits and - . _ ~ / :', BASIC, (s) => s);
export const cookieDomain = trimmed('a domain of letters, digits and - . _ ~ / :', BASIC, (s) => s);
export const cookiePath = trimmed('a path of letters, digits and - . _ ~ / : , ? & =', URL_CHARS, (s) => s);
export const cookieSeconds: ValueGrammar<number> = {
  describe: 'a whole number of seconds (0, or an integer without leading zeros, negative allowed)',
  parse: (raw) => {
    const s = trimSpaces(raw);
    const n = Number(s);
    return SECONDS.test(s) && Math.abs(n) <= 2 ** 31 - 1 ? { ok: true, value: n } : { ok: false, reason: `${quote(raw)} is not a whole number of seconds` };
  },
};
/** Any case, as ingress-nginx validates it; kept as written, since its cookie library writes only `None`, `Lax` and
 * `Strict` and drops the attribute for any other spelling. */
export const sameSite = trimmed('"None", "Lax" or "Strict"', /^(none|lax|strict)$/i, (s) => s);

const SAME_SITE = new Set(['None', 'Lax', 'Strict']);

/** ingress-nginx's upstream name of a Service port, `<namespace>-<service>-<port>`, which keys its cookies. */
export function upstreamName(ref: ServiceRef): string {
  return `${ref.namespace}-${ref.service}-${ref.port}`;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The cookie's second field for a Service port: ingress-nginx's `ngx.md5(ngx.md5(name) .. name)`. */
export function backendKey(ref: ServiceRef): string {
  const name = upstreamName(ref);
  return md5(md5(name) + name);
}

export function wantsAffinity(v: AnnotationValues): boolean {
  return v.affinity === 'cookie';
}

/** The affinity of one route of an Ingress with `affinity: cookie`: `path` is the route's path as written (nginx's
 * `$location_path`), `backend` and `ref` the backend and Service port it sends to. */
export function affinityOf(v: AnnotationValues, path: string, backend: string, ref: ServiceRef): AffinityPolicy | undefined {
  if (!wantsAffinity(v)) return undefined;
  const a: AffinityPolicy = {
    backend,
    cookie: v.sessionCookieName ?? DEFAULT_COOKIE,
    mode: v.affinityMode ?? 'balanced',
    backendKey: backendKey(ref),
    // A path holding `;` would end the cookie: such a character is percent-encoded, as a browser sends it.
    path: (v.sessionCookiePath ?? path).replace(/;/g, '%3B'),
    secure: v.sessionCookieSecure === true,
    conditionalSameSiteNone: v.sessionCookieConditionalSameSiteNone === true,
    changeOnFailure: v.sessionCookieChangeOnFailure === true,
  };
  if (v.sessionCookieDomain !== undefined) a.domain = v.sessionCookieDomain;
  if (v.sessionCookieMaxAge !== undefined) a.maxAge = v.sessionCookieMaxAge;
  if (v.sessionCookieExpires !== undefined) a.expires = v.sessionCookieExpires;
  if (v.sessionCookieSameSite !== undefined && SAME_SITE.has(v.sessionCookieSameSite)) a.sameSite = v.sessionCookieSameSite as AffinityPolicy['sameSite'];
  return a;
}

const COOKIE_FORM = 'Set-Cookie: `<name>=<key>|<backend key>; Expires=<date>; Max-Age=<n>; Domain=<d>; Path=<p>; Secure; HttpOnly; SameSite=<s>` (attributes only when set; HttpOnly always)';

export const AFFINITY_ANNOTATIONS = [
  annotation({
    name: 'affinity',
    scope: 'backend',
    grammar: word(['cookie']),
    set: (v, x) => (v.affinity = x),
    doc: {
      default: 'none: requests are balanced round robin',
      what:
        `\`cookie\`: requests of this Ingress's paths stick to one pod of the Service port by a cookie HAProxy writes on the first response (${COOKIE_FORM}). ` +
        'The Service port gets a sticky HAProxy backend (`be_<namespace>_<service>_<port>_sticky`, which balances on the cookie\'s key with a consistent hash); pods scaling in and out are servers added and removed at runtime. ' +
        'A request without the cookie, or with one the route cannot use, is balanced and gets a new cookie; a cookie key is never an address, so a forged one only picks a pod of the same Service port. ' +
        'Live: the first sticky Service port takes one reload (sticky spare sections), later ones bind to a sticky spare at runtime; attribute changes are map updates.',
      differences:
        'Paths of another Ingress that send to the same Service port without `affinity` use the plain backend: they neither read nor set the cookie (ingress-nginx balances a whole upstream by the cookie once any Ingress asks for affinity, and sets it on the affinity Ingress\'s paths only). Values must be exactly `cookie` (ingress-nginx is case-sensitive too).',
    },
  }),
  annotation({
    name: 'affinity-mode',
    scope: 'ingress',
    grammar: word(['balanced', 'persistent']),
    set: (v, x) => (v.affinityMode = x),
    doc: {
      default: 'balanced',
      what:
        '`balanced`: the cookie holds a random key (`<seconds.millis>.<n>.<n>`) that a consistent hash maps onto the Service\'s ready pods, so scaling up moves about 1/n of the clients to the new pods and a client whose pod left is mapped to another one and keeps its cookie (ingress-nginx\'s sticky_balanced). ' +
        '`persistent`: the cookie names the pod itself, with ingress-nginx\'s key (`md5(<namespace>-<service>-<port><pod address>:<port>)`, so a cookie ingress-nginx wrote keeps its pod), and a client stays on that pod whatever pods are added; only when its pod is gone (removed from the endpoints, or in maintenance) is it balanced to another and given that pod\'s cookie (ingress-nginx\'s sticky_persistent). ' +
        'A key is resolved among the pods of the Service port the route sends to only (`affinity-servers.map`, updated at runtime with the pods): a forged or stale key is balanced like a request without a cookie and gets a new cookie. ' +
        'Live: switching modes, and pods coming and going in either mode, are map and server updates without a reload.',
      differences:
        'The consistent hash of `balanced` is HAProxy\'s, not lua-resty-balancer\'s: a key picks some pod of the Service, not the pod ingress-nginx would pick. ' +
        'A `persistent` request its cookie does not pin is balanced round robin over the pods (ingress-nginx picks one at random); with a single pod, the cookie it gets may name it under HAProxy\'s second server for that pod (same key, same pod).',
    },
  }),
  annotation({
    name: 'affinity-canary-behavior',
    scope: 'ingress',
    grammar: word(['sticky', 'legacy']),
    set: (v, x) => (v.affinityCanaryBehavior = x),
    doc: {
      default: 'sticky',
      what:
        'On an Ingress with `affinity` whose paths have a canary: `sticky` gives the canary the route\'s affinity, and a client whose cookie names the canary\'s Service port (its backend key) stays on the canary while one whose cookie names the route\'s stays off it, whatever the canary\'s header, cookie or weight say; `legacy`: the canary decision ignores the affinity cookie and the canary\'s requests are balanced without one.',
    },
  }),
  annotation({
    name: 'session-cookie-name',
    scope: 'ingress',
    grammar: cookieName,
    set: (v, x) => (v.sessionCookieName = x),
    doc: { default: DEFAULT_COOKIE, what: 'The name of the affinity cookie (case-sensitive, as the cookie is read).' },
  }),
  annotation({
    name: 'session-cookie-path',
    scope: 'ingress',
    grammar: cookiePath,
    set: (v, x) => (v.sessionCookiePath = x),
    doc: {
      default: 'the path of the route as written in the Ingress (for a default backend, `/`)',
      what: 'The cookie\'s Path attribute. With `use-regex` the default is the expression itself, as in ingress-nginx, which is why it asks for this annotation there (Portico reports it).',
    },
  }),
  annotation({
    name: 'session-cookie-domain',
    scope: 'ingress',
    grammar: cookieDomain,
    set: (v, x) => (v.sessionCookieDomain = x),
    doc: { default: 'none (the cookie is the host\'s)', what: 'The cookie\'s Domain attribute.' },
  }),
  annotation({
    name: 'session-cookie-max-age',
    scope: 'ingress',
    grammar: cookieSeconds,
    set: (v, x) => (v.sessionCookieMaxAge = x),
    doc: {
      default: 'none (a session cookie)',
      what: 'The cookie\'s Max-Age attribute, in seconds, written as given.',
      differences: 'Only whole numbers; ingress-nginx\'s unanchored check also passes values such as `0x` or `x1` into the attribute.',
    },
  }),
  annotation({
    name: 'session-cookie-expires',
    scope: 'ingress',
    grammar: cookieSeconds,
    set: (v, x) => (v.sessionCookieExpires = x),
    doc: {
      default: 'none',
      what: 'The cookie\'s Expires attribute: this many seconds after the response, in nginx\'s cookie date form (`Thu, 31-Dec-37 23:55:55 GMT`; four-digit years after 2037).',
      differences: 'Only whole numbers, as for session-cookie-max-age.',
    },
  }),
  annotation({
    name: 'session-cookie-samesite',
    scope: 'ingress',
    grammar: sameSite,
    set: (v, x) => (v.sessionCookieSameSite = x),
    notes: (x) => (SAME_SITE.has(x) ? [] : [`${quote(x)} is accepted in any case, but the cookie gets no SameSite attribute unless it is spelt None, Lax or Strict (as ingress-nginx's cookie library writes it)`]),
    doc: {
      default: 'none',
      what: 'The cookie\'s SameSite attribute: `None`, `Lax` or `Strict`. Any other spelling (`lax`) passes the grammar, as in ingress-nginx, but writes no attribute, as ingress-nginx\'s cookie library does (reported).',
    },
  }),
  annotation({
    name: 'session-cookie-secure',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.sessionCookieSecure = x),
    doc: { default: 'false: Secure on HTTPS responses only', what: '`true`: the cookie carries Secure over plain HTTP too.' },
  }),
  annotation({
    name: 'session-cookie-conditional-samesite-none',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.sessionCookieConditionalSameSiteNone = x),
    doc: {
      default: 'false',
      what: '`true`: `SameSite=None` is left out for the browsers that refuse such cookies (User-Agent containing `Chrome/4`, `Chrome/5`, `Chrome/6`, `CPU iPhone OS 12`, `iPad; CPU OS 12`, or Safari on `Intel Mac OS X 10_14` without Chrome), ingress-nginx\'s list.',
    },
  }),
  annotation({
    name: 'session-cookie-change-on-failure',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.sessionCookieChangeOnFailure = x),
    doc: {
      default: 'false',
      what:
        'What a client\'s cookie becomes when its pod fails. A request whose pod refuses the connection is retried on another pod (HAProxy\'s redispatch). In `persistent` mode, with `true` the response carries a new cookie naming the pod that answered, so the client stays there; with `false` the cookie is left as it was and the next request tries its pod again. A pod removed from the endpoints is not a failure: its clients get a new cookie in either case. A runtime change is a map update.',
      differences:
        'With `false`, ingress-nginx retries the same pod until it gives up (502); Portico serves the request from another pod and keeps the cookie. In `balanced` mode the annotation has no effect (reported; the cookie is kept, ingress-nginx with `true` would write a new key avoiding the failed pod): HAProxy 2.6 tells neither the pod a key hashes to nor whether a request was redispatched (no `txn.redispatched` fetch), so the failure cannot be seen there.',
    },
  }),
];

/** What ingress-nginx warns about, and what Portico serves differently: told once per Ingress. */
export function checkAffinity(v: AnnotationValues, f: Findings): void {
  if (!wantsAffinity(v)) return;
  const field = 'metadata.annotations';
  if ((v.useRegex === true || v.rewriteTarget !== undefined) && v.sessionCookiePath === undefined)
    f.warn(field, 'A1', 'affinity with regular-expression paths: session-cookie-path should be set, or the cookie\'s Path is the expression itself (as in ingress-nginx)');
  if (v.affinityMode !== 'persistent' && v.sessionCookieChangeOnFailure === true)
    f.warn(field, 'A1', 'session-cookie-change-on-failure has no effect with affinity-mode "balanced" in Portico: the cookie is kept when a pod fails (docs/annotations.md)');
}
