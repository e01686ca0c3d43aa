// Canary Ingresses: `canary` and the canary-* annotations, as ingress-nginx reads them (its annotations/canary and
// controller.go's mergeAlternativeBackends). A canary Ingress does not route by itself: each of its paths attaches
// to the route of the same host, path and path type of an Ingress without `canary` (src/translate/routes.ts), and a
// request to that route goes to the canary's Service when its header, else its cookie, else the weighted draw says
// so (ingress-nginx's balancer.lua `route_to_alternative_balancer`).
import type { CanaryPolicy } from '../../model/types.js';
import type { Findings } from '../diagnostics.js';
import { headerPatternProblem } from '../path-regex.js';
import { annotation, NGINX_PREFIX, PORTICO_PREFIX } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { bool, integer, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's weight range is Go's int; Portico's stops where HAProxy's `rand(<n>)` and Lua agree on integers. */
export const MAX_CANARY_WEIGHT = 2 ** 31 - 1;

/** The weight total ingress-nginx uses when none is set, and whenever the one set is not above it (balancer.lua). */
export const DEFAULT_WEIGHT_TOTAL = 100;

function pattern<T>(describe: string, re: RegExp, out: (s: string) => T): ValueGrammar<T> {
  return {
    describe,
    parse: (raw) => {
      // ingress-nginx trims spaces around the value (normalizeString); no grammar here admits one inside.
      const s = trimSpaces(raw);
      return re.test(s) ? { ok: true, value: out(s) } : { ok: false, reason: `${quote(raw)} is not ${describe}` };
    },
  };
}

/**
 * A request header name as nginx can read it: letters, digits, `-` and `_` (nginx's `$http_` variables read `_` as
 * `-`, and refuse header names with other characters), lowercased, `_` as `-`.
 */
export const canaryHeaderName = pattern('a header name of letters, digits, - and _', /^[A-Za-z0-9_-]{1,256}$/, (s) => s.toLowerCase().replace(/_/g, '-'));

/** ingress-nginx's `BasicCharsRegex`: letters, digits and `- . _ ~ / :`. */
export const canaryHeaderValue = pattern('a header value of letters, digits and - . _ ~ / :', /^[-._~A-Za-z0-9/:]{1,256}$/, (s) => s);

/** A cookie name: letters, digits and `- . _ ~` (ingress-nginx's basic characters that a cookie name may hold), lowercased:
 * nginx's `$cookie_` variables find the name in any case. */
export const canaryCookieName = pattern('a cookie name of letters, digits and - . _ ~', /^[-._~A-Za-z0-9]{1,256}$/, (s) => s.toLowerCase());

/** A regular expression searched for in the header's value (src/translate/path-regex.ts, `headerPatternProblem`). */
export const canaryHeaderPattern: ValueGrammar<string> = {
  describe: 'a regular expression of ingress-nginx\'s regex characters that Portico\'s grammar accepts',
  parse: (raw) => {
    const s = trimSpaces(raw);
    const problem = s === '' ? 'is empty' : headerPatternProblem(s);
    return problem === undefined ? { ok: true, value: s } : { ok: false, reason: `${quote(raw)} ${problem}` };
  },
};

const PRECEDENCE =
  'A request goes to the canary when the header says so, else when the cookie says so, else by the weighted draw (ingress-nginx\'s order).';

export const CANARY_ANNOTATIONS = [
  annotation({
    name: 'canary',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.canary = x),
    doc: {
      default: 'false',
      what:
        'The Ingress is a canary: it serves nothing by itself; each of its paths attaches to the route of another Ingress (without `canary`) with the same host, path and path type, and some of that route\'s requests go to the canary\'s Service instead, as the other canary-* annotations say (with none, none do). ' +
        `${PRECEDENCE} The canary does not conflict with the main Ingress (no M3). A canary path that matches no such route serves nothing (rule \`canary-unmatched\`); a second canary on one route is not used (oldest first, rule \`canary-shadowed\`). ` +
        'The canary Ingress\'s other annotations, its TLS section and its default backend are not used, as in ingress-nginx: the main route\'s policy (redirects, access lists, timeouts, backend-protocol, ...) applies to the requests the canary gets. ' +
        'A canary whose Service has no endpoint gets no request. Live: adding, changing or removing a canary is a map update (the first canary in a configuration takes one reload, for its rules).',
      differences:
        'ingress-nginx attaches the canary to the main route\'s Service (its upstream), so every other path of any host that sends to the same Service is split too; Portico splits only the routes with the canary\'s host, path and path type. A canary `spec.defaultBackend` is not used (ingress-nginx attaches it to every route of the default server). With several canaries on one route, ingress-nginx also uses only the first.',
    },
  }),
  annotation({
    name: 'canary-by-header',
    scope: 'ingress',
    grammar: canaryHeaderName,
    set: (v, x) => (v.canaryHeader = x),
    doc: {
      default: 'none',
      what: `A request with this header set to \`always\` goes to the canary, set to \`never\` does not (cookie and weight are then not consulted); any other value, or no header, leaves the decision to the cookie and the weight. With canary-by-header-value or canary-by-header-pattern, that value or pattern replaces \`always\`, and \`never\` has no special meaning. Only the first header of that name counts. ${PRECEDENCE}`,
      differences: 'the name may hold letters, digits, `-` and `_` only (`_` is read as `-`, as nginx does); ingress-nginx also accepts `.`, `~`, `/` and `:`, which make a name no request header can have, so such a canary never matched by header there; Portico refuses them (A1).',
    },
  }),
  annotation({
    name: 'canary-by-header-value',
    scope: 'ingress',
    grammar: canaryHeaderValue,
    set: (v, x) => (v.canaryHeaderValue = x),
    doc: {
      default: 'none',
      what: 'With canary-by-header: a request whose header equals this value exactly (case-sensitive) goes to the canary; any other value leaves the decision to the cookie and the weight. No effect without canary-by-header. Wins over canary-by-header-pattern. Live: a map update.',
      differences: 'a value with a space inside is refused (A1); ingress-nginx accepts one and compares it.',
    },
  }),
  annotation({
    name: 'canary-by-header-pattern',
    scope: 'ingress',
    grammar: canaryHeaderPattern,
    set: (v, x) => (v.canaryHeaderPattern = x),
    doc: {
      default: 'none',
      what: 'With canary-by-header and without canary-by-header-value: a request whose header matches this regular expression (PCRE2, case-sensitive, anywhere in the value unless anchored with `^`/`$`) goes to the canary; otherwise the cookie and the weight decide. Live: a map update.',
      differences:
        'the expression passes a grammar first (ingress-nginx\'s regex characters; groups, classes, `|`, `?`, `*`, `+`, `{m,n}`, `^` at the start and `$` at the end of a branch; no lookaround, backreference or repeated group that itself repeats): ingress-nginx compiles anything PCRE takes, and an expression PCRE refuses matches nothing at request time.',
    },
  }),
  annotation({
    name: 'canary-by-cookie',
    scope: 'ingress',
    grammar: canaryCookieName,
    set: (v, x) => (v.canaryCookie = x),
    doc: {
      default: 'none',
      what: `A request with this cookie set to \`always\` goes to the canary, set to \`never\` does not; any other value, or no cookie, leaves the decision to the weight. The name is matched in any case, as nginx's \`$cookie_\` variables do. ${PRECEDENCE}`,
      differences: 'the name may hold letters, digits and `- . _ ~`; ingress-nginx also accepts `/` and `:`, which no cookie name can hold (A1 in Portico).',
    },
  }),
  annotation({
    name: 'canary-weight',
    scope: 'ingress',
    grammar: integer(0, MAX_CANARY_WEIGHT),
    set: (v, x) => (v.canaryWeight = x),
    doc: {
      default: '0',
      what: 'Of the requests neither header nor cookie decided, this many out of canary-weight-total go to the canary, drawn at random per request (0: none, the total or more: all). Live: a changed weight is a map update, no reload.',
      differences: 'a negative weight is refused (A1), so the default 0 applies: the same as ingress-nginx, where a negative weight never wins the draw.',
    },
  }),
  annotation({
    name: 'canary-weight-total',
    scope: 'ingress',
    grammar: integer(0, MAX_CANARY_WEIGHT),
    set: (v, x) => (v.canaryWeightTotal = x),
    doc: {
      default: '100',
      what: 'What canary-weight is out of. As in ingress-nginx, a total of 100 or less counts as 100. Live: a map update.',
      differences: 'a negative total is refused (A1), so the default 100 applies, as ingress-nginx would use 100 for it.',
    },
  }),
];

const CANARY_FIELDS = ['canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern', 'canary-by-cookie', 'canary-weight'] as const;

/**
 * Rule `canary-disabled`: canary-* annotations on an Ingress that is not a canary. ingress-nginx refuses that
 * combination ("configured but not enabled") and serves the Ingress as an ordinary one; so does Portico.
 */
export function checkCanaryEnabled(v: AnnotationValues, raw: Record<string, string>, f: Findings): void {
  if (v.canary === true) return;
  const configured = v.canaryHeader !== undefined || v.canaryHeaderValue !== undefined || v.canaryHeaderPattern !== undefined || v.canaryCookie !== undefined || (v.canaryWeight ?? 0) > 0;
  if (!configured) return;
  const set = (key: string): boolean => (raw[key] ?? '') !== '';
  const key = CANARY_FIELDS.flatMap((n) => [PORTICO_PREFIX + n, NGINX_PREFIX + n]).find(set) ?? `${NGINX_PREFIX}canary-weight`;
  f.warn(`metadata.annotations[${key}]`, 'canary-disabled', 'canary-* annotations without canary: "true" have no effect: the Ingress is served as an ordinary Ingress, as ingress-nginx does');
}

/** The canary an Ingress's paths attach to the route they match, once the backend it sends to is known. */
export function canaryPolicyOf(v: AnnotationValues, backend: string, ingress: string): CanaryPolicy {
  const policy: CanaryPolicy = {
    backend,
    ingress,
    weight: v.canaryWeight ?? 0,
    weightTotal: Math.max(DEFAULT_WEIGHT_TOTAL, v.canaryWeightTotal ?? DEFAULT_WEIGHT_TOTAL),
  };
  if (v.canaryHeader !== undefined) {
    // balancer.lua: a header value wins over a pattern; without either, `always` and `never`.
    if (v.canaryHeaderValue !== undefined) policy.header = { name: v.canaryHeader, value: v.canaryHeaderValue };
    else if (v.canaryHeaderPattern !== undefined) policy.header = { name: v.canaryHeader, pattern: v.canaryHeaderPattern };
    else policy.header = { name: v.canaryHeader };
  }
  if (v.canaryCookie !== undefined) policy.cookie = v.canaryCookie;
  return policy;
}

export function isCanary(v: AnnotationValues): boolean {
  return v.canary === true;
}
