// Rate limits per client address: limit-rps, limit-rpm, limit-connections, limit-burst-multiplier and
// limit-allowlist (with its older name limit-whitelist), as ingress-nginx's ratelimit parser reads them. ingress-nginx
// gives each Ingress its own zones (`<namespace>_<name>_<uid>_rps`, ..._rpm, ..._conn) shared by all of its
// locations, so a client's requests to any path of the Ingress count together; the route policy carries the Ingress
// as the zone for the same reason.
//
// A bad value fails open: the annotation is ignored (A1) and the others still apply. A limit protects a backend's
// capacity, not who may use it, so a typo must not turn into every request refused (which failing closed would do);
// the access lists, whose absence would grant access, are the ones that fail closed.
import type { RateLimitPolicy } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { cidrList, integer } from './values.js';

/** ingress-nginx's `defBurst`: the burst is the rate times this. */
export const DEFAULT_BURST_MULTIPLIER = 5;

/**
 * Ranges: 0 is "no limit", as in ingress-nginx (which renders a zone only for a limit above 0). The tops keep the
 * interval between two requests at least 10 µs (rps) or 60 µs (rpm), so rounding it to the table's time unit
 * (render/policy/rate-limit.ts) stays within a few percent, and keep the longest burst (100 times a minute's limit)
 * within what the table's 31-bit clock can tell apart from the past.
 */
const RPS = integer(0, 100_000);
const RPM = integer(0, 1_000_000);
const CONNECTIONS = integer(0, 1_000_000);
const MULTIPLIER = integer(0, 100);

const BUCKET =
  "nginx's limit_req (`rate=Nr/s`, `burst=N×multiplier nodelay`) is reproduced as the same leaky bucket (a generic cell rate algorithm over a per-client clock in a stick table): a new client gets `N×multiplier + 1` requests at once, then one every `1/N` s; a refused request does not count. Two differences a user can measure: the interval `1/N` is rounded to whole microseconds (rps) or 8 µs (rpm), so the rate is off by at most `N/(2,000,000 − N)` (rps: 0.05% at 1,000 r/s, 5.3% at the 100,000 maximum) or `N/(15,000,000 − N)` (rpm: 0.4% at 60,000 r/min); and a client's state is forgotten after 10 minutes without a request, so with `limit-rpm` and a multiplier above 9 a client idle for 10 minutes gets its whole burst back where nginx would still hold `(multiplier − 10)×N` of it. (nginx itself rounds a per-minute rate down to a thousandth of a request per second; Portico does not.) A client's bucket is read and written by separate rules, not under one lock as in nginx, so two of its requests judged within the same few microseconds on two HAProxy threads can both take the last place (measured: 40 requests at once over 40 connections passed exactly the burst).";
const PER_REPLICA =
  'Counted per client address, per Ingress (all of its paths and hosts together, as nginx shares one zone per Ingress) and per Portico replica (each HAProxy counts alone, as each nginx does). Counts live in one HAProxy stick table for all Ingresses, `portico_limit_req` (`limit-rps`, `limit-rpm`) or `portico_limit_conn` (`limit-connections`), of at most 100,000 entries (one per client address and Ingress; 216 bytes each as measured with HAProxy 2.6, so at most about 22 MB per table, allocated as entries come), present only while some route sets such a limit; when a table is full the least recently used entries are dropped, as nginx drops the oldest states of a full 5 MB zone. The address is the client\'s as the settings ConfigMap\'s client-address keys resolve it (`use-forwarded-headers`, `proxy-real-ip-cidr`, `use-proxy-protocol`: docs/configmap.md); without them, the connection\'s. A client outside the Ingress\'s access lists gets their 403 and is not counted, where nginx, which limits before it checks `allow`/`deny`, counts it and answers 503 once it is over the limit. A deleted and re-created Ingress keeps its counts (up to 10 minutes), where nginx\'s zone names hold the Ingress\'s UID.';
const STATUS =
  'The refusal is 503, ingress-nginx\'s default, unless the settings ConfigMap\'s `limit-req-status-code` (rates) or `limit-conn-status-code` (connections) says otherwise (docs/configmap.md), with one line of plain text naming the status, not nginx\'s HTML page.';
const BAD_VALUE =
  'A negative or otherwise invalid value is ignored with warning A1 and the Ingress is served without that limit (its other limits apply); ingress-nginx before 1.9 drops all of the Ingress\'s limits, and later releases refuse the whole Ingress. Values above the maximum are refused the same way.';

const rate = (unit: string) => ({
  default: '`0`: no limit',
  what: `Requests per ${unit} each client address may make to this Ingress's paths, with a burst of this times \`limit-burst-multiplier\` (5) on top; a request over the limit gets 503 at once (nginx's \`nodelay\`). With both \`limit-rps\` and \`limit-rpm\` set, a request must pass both, and one refused by either counts against neither. Live: a changed value is a map update; the first route with a limit-${unit === 'second' ? 'rps' : 'rpm'} of all takes a reload (the rules exist only while some route needs them).`,
  differences: `${BUCKET} ${PER_REPLICA} ${STATUS} ${BAD_VALUE}`,
});

export const RATE_LIMIT_ANNOTATIONS = [
  annotation({ name: 'limit-rps', scope: 'route', grammar: RPS, set: (v, x) => (v.limitRps = x), doc: rate('second') }),
  annotation({ name: 'limit-rpm', scope: 'route', grammar: RPM, set: (v, x) => (v.limitRpm = x), doc: rate('minute') }),
  annotation({
    name: 'limit-connections',
    scope: 'route',
    grammar: CONNECTIONS,
    set: (v, x) => (v.limitConnections = x),
    doc: {
      default: '`0`: no limit',
      what: "Requests each client address may have in progress at once on this Ingress's paths (nginx's limit_conn counts connections with a request in progress, and each HTTP/2 stream); one more gets 503 at once. A request refused by a rate limit is not counted. Live: a changed value is a map update; the first route with a connection limit of all takes a reload.",
      differences: `${PER_REPLICA} ${STATUS} ${BAD_VALUE}`,
    },
  }),
  annotation({
    name: 'limit-burst-multiplier',
    scope: 'route',
    grammar: MULTIPLIER,
    set: (v, x) => (v.limitBurstMultiplier = x),
    doc: {
      default: '`5`',
      what: 'The burst of `limit-rps` and `limit-rpm`: the rate times this many requests may come at once on top of the rate. Live: a changed value is a map update.',
      differences: 'At most 100 (a larger or negative value is ignored with warning A1, and 5 applies, as ingress-nginx applies 5 to a value it cannot read); ingress-nginx writes any product into nginx\'s `burst`, and a negative one makes nginx refuse the whole configuration.',
    },
  }),
  // The older name first: when both are set, limit-allowlist (read after it) wins, as ingress-nginx reads an alias
  // only when the name itself is absent.
  annotation({
    name: 'limit-whitelist',
    scope: 'route',
    grammar: cidrList,
    set: (v, x) => (v.limitAllowlist = x),
    doc: {
      default: 'none',
      what: 'The older name of `limit-allowlist`, which wins when both are set.',
      differences: 'as `limit-allowlist`.',
    },
  }),
  annotation({
    name: 'limit-allowlist',
    scope: 'route',
    grammar: cidrList,
    set: (v, x) => (v.limitAllowlist = x),
    doc: {
      default: 'none',
      what: "Clients whose address is in one of these IP addresses or CIDR blocks are never limited by this Ingress's `limit-rps`, `limit-rpm` or `limit-connections`, and are not counted. Live: a changed list is a map update; the first allowlist of all takes a reload.",
      differences: "A list with a bad entry is ignored with warning A1 (the limits then apply to every client); ingress-nginx before 1.9 drops all of the Ingress's limits, later releases refuse the whole Ingress. The address is the client's as the settings ConfigMap's client-address keys resolve it (`use-forwarded-headers`, `proxy-real-ip-cidr`, `use-proxy-protocol`: docs/configmap.md); without them, the connection's.",
    },
  }),
];

/** The route policy's rate limits, or undefined when no limit is above 0 (ingress-nginx then makes no zone, and its
 * allowlist means nothing). `zone`: the Ingress, whose paths share their counts. */
export function rateLimitOf(v: AnnotationValues, zone: string): RateLimitPolicy | undefined {
  const rps = v.limitRps ?? 0;
  const rpm = v.limitRpm ?? 0;
  const connections = v.limitConnections ?? 0;
  if (rps === 0 && rpm === 0 && connections === 0) return undefined;
  const burstMultiplier = v.limitBurstMultiplier ?? DEFAULT_BURST_MULTIPLIER;
  return {
    zone,
    ...(rps > 0 ? { rps } : {}),
    ...(rpm > 0 ? { rpm } : {}),
    ...(connections > 0 ? { connections } : {}),
    ...(rps > 0 || rpm > 0 ? { burstMultiplier } : {}),
    allowlist: v.limitAllowlist ?? [],
  };
}
