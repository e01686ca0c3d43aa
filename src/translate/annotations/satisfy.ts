// `satisfy`: how a route's access list and its authentication combine, as ingress-nginx writes nginx's `satisfy`
// into each location of the Ingress. `all` (nginx's default): the address must pass the list AND the request must
// authenticate. `any`: either is enough, so a client the list allows needs no credentials and one it refuses (outside
// the allow list, or inside the deny list) must authenticate instead of getting 403.
//
// It only changes anything on a route with both a list and authentication (basic or external): routePolicy sets
// RoutePolicy.satisfyAny only there, so every other route stays exactly as it was.
import { annotation } from './registry.js';
import { quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** `any` or `all`, case-sensitive, spaces around it ignored (ingress-nginx's ValidateOptions(..., true, true)). */
export const satisfyWord: ValueGrammar<'any' | 'all'> = {
  describe: '"any" or "all" (lowercase)',
  parse: (raw) => {
    const s = trimSpaces(raw);
    return s === 'any' || s === 'all' ? { ok: true, value: s } : { ok: false, reason: `${quote(raw)} is not "any" or "all" (lowercase)` };
  },
};

export const SATISFY_ANNOTATIONS = [
  annotation({
    name: 'satisfy',
    scope: 'route',
    grammar: satisfyWord,
    // An invalid value is the default, `all`: the stricter of the two (ingress-nginx leaves nginx's default too).
    set: (v, x) => (v.satisfy = x),
    doc: {
      default: 'all',
      what:
        "How this Ingress's access lists (allowlist-source-range, denylist-source-range) and its authentication (auth-type: basic, auth-url) combine, as nginx's `satisfy`. `all`: a request must pass both. `any`: either is enough: a client the lists allow needs no credentials, and any other client (outside the allow list, or inside the deny list) may still come in with valid credentials; without them it gets the authentication's answer (401, the auth-signin redirect, the auth service's 403) instead of 403, and, as in nginx, the redirect annotations and the CORS preflight answer it before authentication does. Changes nothing on a route without both a list and authentication. Live while some route already uses it (a map update); the first such route takes a reload.",
      differences:
        'With both `auth-type: basic` and `auth-url` on one route, `any` does not make either one enough alone: a client the lists do not allow (every client, on a route without a list) must pass both, where nginx lets in a request that passes either.',
    },
  }),
];
