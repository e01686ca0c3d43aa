// Render side of enable-cors and the cors-* annotations (src/translate/annotations/cors.ts). What is allowed is map
// data: `cors-origins.map` holds a line per allowed origin of a route, keyed `<route id>|<origin>` (a wildcard origin
// as written, `https://*.example.com`; any origin as `<route id>|*`), and the header values are keyed by route id. An
// ACL cannot compare a request's Origin with a variable, so the rules build the key from the route id and the Origin
// and test that the map has it: an origin is allowed when the whole lowercased Origin is a key, or when it is one
// after its first label is replaced by `*` (exactly one label, as the routing maps' wildcard hosts). A changed origin
// list or header value is a map update; the rules exist only while some route allows some origin.
import type { CorsPolicy } from '../../../model/types.js';
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';

export const CORS_MAPS = {
  corsOrigins: 'maps/cors-origins.map',
  corsMethods: 'maps/cors-methods.map',
  corsHeaders: 'maps/cors-headers.map',
  corsExpose: 'maps/cors-expose.map',
  corsMaxAge: 'maps/cors-max-age.map',
  corsCredentials: 'maps/cors-credentials.map',
} as const;
type CorsMap = keyof typeof CORS_MAPS;

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const ORIGIN = new RegExp(`^[a-z][a-z0-9+.-]{0,31}://(\\*\\.)?${LABEL}(\\.${LABEL})*(:\\d{1,5})?$`);
// Map values hold no whitespace (a runtime API argument cannot, and a map line would end the key at the first
// space), so the lists are in canonical form: items joined by `,` alone, which HTTP reads as the same list.
const METHODS = /^[A-Za-z]{1,32}(,[A-Za-z]{1,32})*$/;
const HEADER_NAMES = /^[A-Za-z0-9_-]{1,256}(,[A-Za-z0-9_-]{1,256})*$/;
const EXPOSE = /^([A-Za-z0-9_-]{1,256}|\*)(,([A-Za-z0-9_-]{1,256}|\*))*$/;

function checked(value: string, pattern: RegExp, what: string): string {
  if (value.length > 16_384 || !pattern.test(value)) throw new Error(`render: refusing CORS ${what} ${JSON.stringify(value)}`);
  return value;
}

/** Render's own check of an origin key (translate's grammar is the same): lowercase, one word, a label or `*.` only
 * where the lookup's one substitution can produce it. */
export function corsOriginKey(origin: string): string {
  if (origin !== '*' && origin !== 'null' && !(origin.length <= 300 && ORIGIN.test(origin))) throw new Error(`render: refusing CORS origin ${JSON.stringify(origin)}`);
  return `|${origin}`;
}

export function corsMaxAgeValue(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 2 ** 31 - 1) throw new Error(`render: refusing CORS max age ${seconds}`);
  return String(seconds);
}

/** A route's lines: none while it allows no origin (CORS then changes nothing it answers). */
export function corsData(c: CorsPolicy | undefined): PolicyDatum<CorsMap>[] {
  if (!c || c.origins.length === 0) return [];
  const origins = c.origins === '*' ? ['*'] : c.origins;
  return [
    ...origins.map((o): PolicyDatum<CorsMap> => ['corsOrigins', '1', corsOriginKey(o)]),
    ['corsMethods', checked(c.methods, METHODS, 'methods')],
    ['corsHeaders', checked(c.headers, HEADER_NAMES, 'headers')],
    ...(c.exposeHeaders === undefined ? [] : [['corsExpose', checked(c.exposeHeaders, EXPOSE, 'expose headers')] as PolicyDatum<CorsMap>]),
    ['corsMaxAge', corsMaxAgeValue(c.maxAgeSeconds)],
    // Written for false too, so that a route turning credentials on is a map update, not a new rule.
    ['corsCredentials', c.credentials ? 'true' : 'false'],
  ];
}

/**
 * The request rules, after routing and before the redirect annotations and rule T9, as ingress-nginx's CORS `if`s
 * run in nginx's rewrite phase ahead of its `return` and Lua HTTPS redirect. `txn.cors_origin` is what
 * Access-Control-Allow-Origin will say (`*` for a route allowing any origin, which ingress-nginx sends whether or
 * not the request had an Origin), `txn.cors` the route id once the origin is allowed.
 */
export function corsRequestRules(origins: string, hasId: string, routeId: string): string[] {
  const key = `${routeId},concat(|,txn.cors_origin),lower`;
  const allowed = '{ var(txn.cors_origin) -m found }';
  return [
    `http-request set-var(txn.cors_origin) str(*) if ${hasId} { ${routeId},concat(|*),map_str(${origins}) -m found }`,
    `http-request set-var(txn.cors_origin) req.fhdr(origin) if ${hasId} !${allowed} { req.fhdr(origin) -m found }`,
    `http-request set-var(txn.cors) ${routeId} if ${allowed} { ${key},map_str(${origins}) -m found }`,
    // The first label after the scheme becomes `*`: `https://a.example.com` is looked up as `https://*.example.com`.
    `http-request set-var(txn.cors) ${routeId} if ${allowed} !{ var(txn.cors) -m found } { ${key},regsub(://[a-z0-9-]+\\.,://*.),map_str(${origins}) -m found }`,
    // ingress-nginx answers any OPTIONS request from an allowed origin, Access-Control-Request-Method or not. The
    // headers come from the response rules, which HAProxy runs on its own answers too.
    'http-request return status 204 if METH_OPTIONS { var(txn.cors) -m found }',
  ];
}

/** The response rules (`http-after-response`: the backend's answers and HAProxy's own alike, as more_set_headers). */
export function corsResponseRules(file: (m: CorsMap) => string, exposeInUse: boolean): string[] {
  const allowed = '{ var(txn.cors) -m found }';
  const value = (m: CorsMap): string => `%[var(txn.cors),map_str(${file(m)})]`;
  return [
    `http-after-response set-header Access-Control-Allow-Origin %[var(txn.cors_origin)] if ${allowed}`,
    `http-after-response set-header Access-Control-Allow-Credentials true if ${allowed} { var(txn.cors),map_str(${file('corsCredentials')}) -m str true }`,
    `http-after-response set-header Access-Control-Allow-Methods ${value('corsMethods')} if ${allowed}`,
    `http-after-response set-header Access-Control-Allow-Headers ${value('corsHeaders')} if ${allowed}`,
    ...(exposeInUse ? [`http-after-response set-header Access-Control-Expose-Headers ${value('corsExpose')} if ${allowed} { var(txn.cors),map_str(${file('corsExpose')}) -m found }`] : []),
    `http-after-response set-header Access-Control-Max-Age ${value('corsMaxAge')} if ${allowed}`,
  ];
}

export const CORS_FAMILY = policyFamily({
  // Every CORS route writes its origins, methods, headers, max age and credentials; the exposed headers only if set.
  implies: {
    corsOrigins: ['corsMethods', 'corsHeaders', 'corsMaxAge', 'corsCredentials'],
    corsMethods: ['corsOrigins'],
    corsHeaders: ['corsOrigins'],
    corsMaxAge: ['corsOrigins'],
    corsCredentials: ['corsOrigins'],
    corsExpose: ['corsOrigins'],
  },
  maps: CORS_MAPS,
  data: (p) => corsData(p.cors),
  rules: {
    answer: (c) =>
      c.inUse.has('corsOrigins') ? ['# CORS (enable-cors): who may read this route from another origin; an allowed preflight is answered here.', ...corsRequestRules(c.file('corsOrigins'), c.hasId, c.routeId)] : [],
    response: (c) => (c.inUse.has('corsOrigins') ? ['# CORS: the Access-Control-* headers of an allowed origin, replacing the backend\'s.', ...corsResponseRules(c.file, c.inUse.has('corsExpose'))] : []),
  },
});
