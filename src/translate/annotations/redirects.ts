// Redirects: rule T9's HTTP to HTTPS redirect, and a route that answers every request with a redirect of its own
// (`permanent-redirect`, `temporal-redirect`), as ingress-nginx's redirect annotations do.
import type { RedirectCode, RoutePolicy } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { appPath, bool, hostList, integer, redirectUrl } from './values.js';

/** Any whole number is read (as strconv.Atoi does); one outside the annotation's range means its default. */
const CODE = integer(-(2 ** 31), 2 ** 31 - 1);
const CODE_DIFFERENCE =
  'a code that is not a whole number is reported (A1) and the default code used; ingress-nginx then drops the redirect altogether.';

export const REDIRECT_ANNOTATIONS = [
  annotation({
    name: 'ssl-redirect',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.sslRedirect = x),
    doc: {
      default: '`true` (`--ssl-redirect`)',
      what: 'With `false`, plain-HTTP requests to this Ingress\'s paths on a TLS host are served instead of redirected with 308 to HTTPS (rule T9).',
    },
  }),
  annotation({
    name: 'force-ssl-redirect',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.forceSslRedirect = x),
    doc: {
      default: '`false`',
      what: 'With `true`, plain-HTTP requests to this Ingress\'s paths are redirected with 308 to HTTPS even when the host has no TLS block (for TLS terminated in front of Portico).',
    },
  }),
  annotation({
    name: 'app-root',
    scope: 'ingress',
    grammar: appPath,
    set: (v, x) => (v.appRoot = x),
    doc: {
      default: 'none',
      what: "A request for `/` on the Ingress's hosts is redirected with 302 to this path (`http://a.example/` to `http://a.example/app`), on whichever Ingress of the host serves `/`, or none, as ingress-nginx's server-level `if ($uri = /)` does; it comes before the access lists and every other annotation, as there. The oldest Ingress of a host with app-root decides. Live: a changed path is a map update.",
      differences: 'the path is letters, digits and `- . _ ~ / :` (ingress-nginx also takes `$`, which nginx would read as a variable). The Location keeps the Host header as sent only when it is a host name with an optional port; with anything else there is no redirect.',
    },
  }),
  annotation({
    name: 'server-alias',
    scope: 'ingress',
    grammar: hostList,
    set: (v, x) => (v.serverAlias = x),
    doc: {
      default: 'none',
      what: "More names for the Ingress's hosts: a request for an alias is routed exactly as one for the host (all its Ingresses' paths, redirects and policies), and over HTTPS the alias is offered the host's certificate, as nginx's `server_name` does. The oldest Ingress of a host with server-alias decides; an alias that is some Ingress's host, or already another host's alias, is left out, as in ingress-nginx. Live: a map update.",
      differences: 'names and one-label wildcards only: ingress-nginx also takes nginx regular expressions (`~^...`), which Portico refuses (A1).',
    },
  }),
  annotation({
    name: 'from-to-www-redirect',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.fromToWwwRedirect = x),
    doc: {
      default: '`false`',
      what: "With `true`, requests for the other name of each of the Ingress's hosts (`www.example.com` for `example.com`, and the reverse) are redirected with 308 to the host, path and query kept, less one `/` ending them, as ingress-nginx's redirect server does; over HTTPS the other name is offered the host's certificate when it covers that name. Nothing happens when the other name is some Ingress's host or alias, or for a wildcard host. Live: a map update.",
      differences: "the Location names no port (ingress-nginx's names nginx's own listening port, `:80` or `:443`, the same URL to a client on the default ports).",
    },
  }),
  annotation({
    name: 'preserve-trailing-slash',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.preserveTrailingSlash = x),
    doc: {
      default: '`false`',
      what: "The HTTPS redirect (rule T9) drops one `/` at the end of the request's path and query, as ingress-nginx's does (`http://a.example/docs/` goes to `https://a.example/docs`); with `true` it keeps it.",
    },
  }),
  annotation({
    name: 'permanent-redirect',
    scope: 'route',
    grammar: redirectUrl,
    set: (v, x) => (v.permanentRedirect = x),
    doc: {
      default: 'none',
      what: 'Every request to this Ingress\'s paths is answered with a redirect to this URL (301 unless `permanent-redirect-code` says otherwise), on both ports, before the HTTPS redirect; the backend is not asked. The Location is the URL as written: the request\'s path and query are not appended. The URL changes live, without a reload.',
      differences: 'the URL must start with `http://` or `https://` and name a host (ingress-nginx accepts any scheme beginning with `http`).',
    },
  }),
  annotation({
    name: 'permanent-redirect-code',
    scope: 'route',
    grammar: CODE,
    set: (v, x) => (v.permanentRedirectCode = x),
    doc: { default: '`301`', what: 'The status of `permanent-redirect`: 300 to 308; any other number means 301.', differences: CODE_DIFFERENCE },
  }),
  annotation({
    name: 'temporal-redirect',
    scope: 'route',
    grammar: redirectUrl,
    set: (v, x) => (v.temporalRedirect = x),
    doc: {
      default: 'none',
      what: 'As `permanent-redirect`, with 302 (or `temporal-redirect-code`); when both are set, this one wins, as in ingress-nginx.',
      differences: 'the URL must start with `http://` or `https://` and name a host (ingress-nginx accepts any scheme beginning with `http`).',
    },
  }),
  annotation({
    name: 'temporal-redirect-code',
    scope: 'route',
    grammar: CODE,
    set: (v, x) => (v.temporalRedirectCode = x),
    doc: { default: '`302`', what: 'The status of `temporal-redirect`: 300 to 307; any other number means 302.', differences: CODE_DIFFERENCE },
  }),
];

function codeIn(code: number | undefined, max: number, fallback: RedirectCode): RedirectCode {
  return code !== undefined && code >= 300 && code <= max ? (code as RedirectCode) : fallback;
}

/** ingress-nginx's order: a temporal redirect (300-307, else 302) before a permanent one (300-308, else 301). */
export function redirectOf(v: AnnotationValues): RoutePolicy['redirect'] {
  if (v.temporalRedirect !== undefined) return { code: codeIn(v.temporalRedirectCode, 307, 302), url: v.temporalRedirect };
  if (v.permanentRedirect !== undefined) return { code: codeIn(v.permanentRedirectCode, 308, 301), url: v.permanentRedirect };
  return undefined;
}

/**
 * Rule T9 for the routes of one Ingress on one host: `force-ssl-redirect` redirects even a host without TLS, as in
 * ingress-nginx; otherwise a TLS host redirects unless `ssl-redirect` turns it off. Each annotation's default is the
 * controller-wide setting of the same name (`--ssl-redirect`, the ConfigMap's keys), as in ingress-nginx.
 */
export function redirectsToHttps(v: AnnotationValues, tlsHost: boolean, defaults: HttpsRedirectDefaults): boolean {
  if (v.forceSslRedirect ?? defaults.forceSslRedirect) return true;
  return tlsHost && (v.sslRedirect ?? defaults.sslRedirect);
}

/** The controller-wide defaults of `ssl-redirect` and `force-ssl-redirect`. */
export interface HttpsRedirectDefaults {
  sslRedirect: boolean;
  forceSslRedirect: boolean;
}
