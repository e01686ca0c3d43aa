// Cross-Origin Resource Sharing: enable-cors and the cors-* annotations, as ingress-nginx's CORS template applies them
// to an Ingress's locations. An allowed origin's OPTIONS request is answered by the proxy (204), and every response to
// an allowed origin carries the same Access-Control-* headers, replacing any the backend sent.
import type { CorsPolicy } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { bool, headerNameList, headerNameOrStarList, integer, methodList, originList } from './values.js';

/** ingress-nginx's defaults (internal/ingress/annotations/cors), in canonical list form. */
export const CORS_DEFAULTS = {
  methods: 'GET,PUT,POST,DELETE,PATCH,OPTIONS',
  headers: 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization',
  maxAgeSeconds: 1_728_000,
} as const;

const LIST_FORM =
  'the list is sent as written but without the spaces around commas (`A, B` as `A,B`), the same list to a browser; items must be separated by commas, where ingress-nginx also lets a space alone separate them (`A B`, which browsers cannot read).';

export const CORS_ANNOTATIONS = [
  annotation({
    name: 'enable-cors',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.enableCors = x),
    doc: {
      default: '`false`',
      what:
        "With `true`, this Ingress's paths answer CORS: an `OPTIONS` request from an allowed origin (`cors-allow-origin`) gets 204 from Portico itself, on both ports and before the HTTPS redirect and the redirect annotations, with the Access-Control-* headers below, no body and, as nginx sends it, no Content-Type or Content-Length; every other response to an allowed origin (the backend's, a redirect, an error) gets the same headers, replacing the backend's. A request from another origin goes to the backend untouched. Live: changed values are map updates (the first route to set `cors-expose-headers` takes a reload).",
    },
  }),
  annotation({
    name: 'cors-allow-origin',
    scope: 'route',
    grammar: originList,
    set: (v, x) => (v.corsAllowOrigin = x),
    invalid: { means: 'the annotation is ignored, and without a valid list under the other prefix no origin is allowed', set: (v) => (v.corsAllowOrigin = []) },
    doc: {
      default: '`*`',
      what:
        "The origins allowed, comma-separated: `scheme://host[:port]`, `scheme://*.domain[:port]` (the `*` is exactly one DNS label), `null`, or `*` (any origin). An allowed request's `Origin` is sent back in Access-Control-Allow-Origin; with `*` every response carries `Access-Control-Allow-Origin: *` and every `OPTIONS` request gets the 204, whether or not it sent an Origin, as in ingress-nginx.",
      differences:
        'an Origin must match an entry whole (case aside): ingress-nginx anchors its match at the end only, so there an Origin that merely ends with an allowed one passes (with `null` listed, `http://devnull`; with `https://app.example.com`, `xhttps://app.example.com`). A list holding an item that is not an origin is refused whole (A1) and then allows no origin; ingress-nginx skips such items, or falls back to `*` when its validator fails.',
    },
  }),
  annotation({
    name: 'cors-allow-methods',
    scope: 'route',
    grammar: methodList,
    set: (v, x) => (v.corsAllowMethods = x),
    doc: { default: '`GET, PUT, POST, DELETE, PATCH, OPTIONS`', what: 'Access-Control-Allow-Methods: methods of letters, comma-separated.', differences: LIST_FORM },
  }),
  annotation({
    name: 'cors-allow-headers',
    scope: 'route',
    grammar: headerNameList,
    set: (v, x) => (v.corsAllowHeaders = x),
    doc: {
      default: '`DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization`',
      what: 'Access-Control-Allow-Headers: header names (letters, digits, `-`, `_`), comma-separated.',
      differences: LIST_FORM,
    },
  }),
  annotation({
    name: 'cors-expose-headers',
    scope: 'route',
    grammar: headerNameOrStarList,
    set: (v, x) => (v.corsExposeHeaders = x),
    doc: {
      default: 'none: no Access-Control-Expose-Headers',
      what: 'Access-Control-Expose-Headers: header names (letters, digits, `-`, `_`) or `*`, comma-separated.',
      differences: LIST_FORM,
    },
  }),
  annotation({
    name: 'cors-allow-credentials',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.corsAllowCredentials = x),
    doc: {
      default: '`true`',
      what: 'With `true`, `Access-Control-Allow-Credentials: true` is sent; with `false`, the header is left out. As in ingress-nginx it is sent with `cors-allow-origin: *` too, a combination browsers refuse for requests with credentials.',
    },
  }),
  annotation({
    name: 'cors-max-age',
    scope: 'route',
    grammar: integer(0, 2 ** 31 - 1),
    set: (v, x) => (v.corsMaxAge = x),
    doc: {
      default: '`1728000`',
      what: 'Access-Control-Max-Age: the seconds a browser may keep a preflight answer. Like every cors-* annotation, it has an effect only with `enable-cors: "true"`.',
      differences: 'a negative number is refused (A1); ingress-nginx sends it, and browsers then fall back to their own default.',
    },
  }),
];

/** The route's CORS settings when enable-cors is true: every unset (or invalid) value at ingress-nginx's default. */
export function corsOf(v: AnnotationValues): CorsPolicy | undefined {
  if (v.enableCors !== true) return undefined;
  const cors: CorsPolicy = {
    origins: v.corsAllowOrigin ?? '*',
    methods: v.corsAllowMethods ?? CORS_DEFAULTS.methods,
    headers: v.corsAllowHeaders ?? CORS_DEFAULTS.headers,
    credentials: v.corsAllowCredentials ?? true,
    maxAgeSeconds: v.corsMaxAge ?? CORS_DEFAULTS.maxAgeSeconds,
  };
  if (v.corsExposeHeaders !== undefined) cors.exposeHeaders = v.corsExposeHeaders;
  return cors;
}
