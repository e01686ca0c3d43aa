// Render side of the rate limits (limit-rps, limit-rpm, limit-connections, limit-allowlist; src/translate/annotations/
// ratelimit.ts). Every value is map data keyed by route id, so a changed rate is a map update; the rules and the two
// stick tables exist only while some route uses them.
//
// nginx's limit_req is a leaky bucket: with rate N/s and burst B, a request is refused when the client's "excess"
// (requests not yet drained at N/s) would pass B, and a refused request changes nothing. HAProxy's own rate counters
// are sliding windows, which either let a sustained client through at (1 + multiplier) times the rate or cut the
// burst nginx grants, so the bucket is kept explicitly instead, as a generic cell rate algorithm (GCRA, the same
// bucket written as a time): each client's "theoretical arrival time" TAT sits in a 32-bit stick-table cell, in
// units of U µs. With T = 1/N in those units and tau = B × T, a request at `now` finds d = max(TAT − now, 0); it is
// refused when d > tau, else TAT becomes now + d + T. A new client thus gets B + 1 requests at once and then one per
// T, exactly nginx's `burst=B nodelay`.
//
// A cell that was never set reads 0, so the top bit marks a set cell and the clock is the low 31 bits, which wrap:
// d is taken modulo 2^31, and a difference of 2^30 or more means "in the past" (0). That holds while no TAT lies
// 2^30 units or more from now either way: entries expire after 10 minutes without a request (a TAT at most that far
// behind), below 2^30 µs (17 minutes) and 2^30 × 8 µs (2.4 hours); the furthest a TAT gets ahead is tau + T, at most
// 101 s for rps and 101 minutes for rpm (multiplier 100), which bucketValue checks.
import { createHash } from 'node:crypto';
import { blocksInside, uniqueBlocks } from './ip-blocks.js';
import { EMBEDDED_IPV4 } from './source-ranges.js';
import { policyFamily } from './family.js';
import type { IdentifiedRoute } from './family.js';
import type { RateLimitPolicy, RoutePolicy } from '../../../model/types.js';
import { STATUS_TEXT } from '../status-text.js';

// In this order: plan adds map by map in this order and deletes in the reverse one, so an allowlisted client's
// exemption is in place before the route's zone (which switches the limits on) and leaves after it.
export const RATE_LIMIT_MAPS = {
  limitCells: 'maps/limit-cells.map',
  limitExempt: 'maps/limit-exempt.map',
  limitRps: 'maps/limit-rps.map',
  limitRpm: 'maps/limit-rpm.map',
  limitConnections: 'maps/limit-connections.map',
  limitZones: 'maps/limit-zones.map',
} as const;
type LimitMap = keyof typeof RATE_LIMIT_MAPS;

export const REQUEST_TABLE = 'portico_limit_req';
export const CONNECTION_TABLE = 'portico_limit_conn';
/** Entries per table: one per client address and Ingress. */
export const TABLE_SIZE = 100_000;
/** A client's bucket is forgotten after this long without a request (see above for why it must stay short). */
export const REQUEST_EXPIRE = '10m';

/** Each kind of bucket: its GCRA cell (gpt index), its time unit in µs, and one request's interval in µs per rate. */
const BUCKETS = {
  rps: { cell: 0, unitUs: 1, perUs: 1_000_000, max: 100_000 },
  rpm: { cell: 1, unitUs: 8, perUs: 60_000_000, max: 1_000_000 },
} as const;
/** The clock's bits, and the flag of a set cell above them. */
const CLOCK = 2_147_483_647;
const SET = 2_147_483_648;
/** Differences from here up are "in the past". */
const HALF = 1_073_741_824;

/** The map value of a rate: `T:tau`, both in the bucket's time units. Throws on anything the grammar would refuse. */
export function bucketValue(kind: keyof typeof BUCKETS, rate: number, multiplier: number): string {
  const b = BUCKETS[kind];
  if (!Number.isSafeInteger(rate) || rate < 1 || rate > b.max) throw new Error(`render: refusing limit-${kind} ${rate}`);
  if (!Number.isSafeInteger(multiplier) || multiplier < 0 || multiplier > 100) throw new Error(`render: refusing limit-burst-multiplier ${multiplier}`);
  const interval = Math.max(1, Math.round(b.perUs / b.unitUs / rate));
  // tau is the burst counted in whole intervals, so the burst is exactly rate × multiplier requests.
  const tau = rate * multiplier * interval;
  if (tau + interval >= HALF) throw new Error(`render: refusing limit-${kind} ${rate} with multiplier ${multiplier}: beyond the table's clock`);
  return `${interval}:${tau}`;
}

/** The zone's key: 16 hex digits of a hash of the Ingress, so the table key is short and holds no user text. */
export function zoneKey(zone: string): string {
  return createHash('sha256').update(zone).digest('hex').slice(0, 16);
}

function connectionsValue(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) throw new Error(`render: refusing limit-connections ${n}`);
  return String(n);
}

/** A route's lines: its zone, and each limit it sets. */
export function rateLimitData(r: RateLimitPolicy): [LimitMap, string][] {
  const out: [LimitMap, string][] = [];
  if (r.rps !== undefined) out.push(['limitRps', bucketValue('rps', r.rps, r.burstMultiplier ?? -1)]);
  if (r.rpm !== undefined) out.push(['limitRpm', bucketValue('rpm', r.rpm, r.burstMultiplier ?? -1)]);
  if (r.connections !== undefined) out.push(['limitConnections', connectionsValue(r.connections)]);
  if (out.length === 0) throw new Error('render: refusing a rate limit policy without a limit');
  out.push(['limitZones', zoneKey(r.zone)]);
  return out;
}

const allowlisted = (p: RoutePolicy): boolean => (p.rateLimit?.allowlist.length ?? 0) > 0;

/**
 * The allowlists as the access lists keep theirs (source-ranges.ts): every listed block is a cell of an IP map, in
 * which a client finds the narrowest listed block holding it; a zone (an Ingress, whose routes share one allowlist)
 * is exempt in each cell inside one of its own blocks, whoever listed the cell. Keyed `<cell>|<zone>`, so one rule
 * finds the cell and reads the flag: the zone is already in a variable, where the route id would need one more.
 */
export function exemptLines(routes: readonly IdentifiedRoute[]): [LimitMap, string, string][] {
  const listed = routes.filter((r) => allowlisted(r.policy));
  const cells = uniqueBlocks(listed.flatMap((r) => r.policy.rateLimit!.allowlist));
  const exempt = new Map<string, string>();
  for (const r of listed) {
    const zone = zoneKey(r.policy.rateLimit!.zone);
    for (const b of uniqueBlocks(r.policy.rateLimit!.allowlist)) for (const c of blocksInside(cells, b)) exempt.set(`${c.text}|${zone}`, '1');
  }
  return [...cells.map((c): [LimitMap, string, string] => ['limitCells', c.text, c.text]), ...[...exempt].map(([k, v]): [LimitMap, string, string] => ['limitExempt', k, v])];
}

/** The refusal of a request over a limit, with the status the ConfigMap chose (`limit-req-status-code`,
 * `limit-conn-status-code`: 400-599, 503 by default) and its reason phrase. */
const refusal = (status: number, what: string): string => {
  if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`render: refusing limit status ${status}`);
  const code = status;
  const phrase = STATUS_TEXT[code];
  return `http-request deny deny_status ${code} content-type "text/plain; charset=utf-8" string "${code}${phrase ? ` ${phrase}` : ''}: ${what}\\n"`;
};

export const RATE_LIMIT_FAMILY = policyFamily({
  // Every limited route names its zone; allowlist cells always come with the zones they exempt.
  implies: { limitRps: ['limitZones'], limitRpm: ['limitZones'], limitConnections: ['limitZones'], limitCells: ['limitExempt', 'limitZones'], limitExempt: ['limitCells'] },
  maps: RATE_LIMIT_MAPS,
  data: (p) => (p.rateLimit ? rateLimitData(p.rateLimit) : []),
  shared: { uses: allowlisted, data: exemptLines },
  sections: (inUse) => [
    ...(inUse.has('limitRps') || inUse.has('limitRpm')
      ? [[`backend ${REQUEST_TABLE}`, `  stick-table type string len 64 size ${TABLE_SIZE} expire ${REQUEST_EXPIRE} store gpt(2)`]]
      : []),
    // An entry in use is never purged, so its expiry only has to outlive the last request's end.
    ...(inUse.has('limitConnections') ? [[`backend ${CONNECTION_TABLE}`, `  stick-table type string len 64 size ${TABLE_SIZE} expire 1m store conn_cur`]] : []),
  ],
  rules: {
    // A route without limits meets each rule below at a test of a variable it never sets (txn.rl, or one only set
    // behind it), the cheapest test there is; a plain route, without an id, fails the first rule's id test.
    limit: (c) => {
      const limited = '{ var(txn.rl) -m found }';
      const key = 'var(txn.rl),concat(|,sess.client)';
      const kinds = (['rps', 'rpm'] as const).filter((k) => c.inUse.has(k === 'rps' ? 'limitRps' : 'limitRpm'));
      const bucket = (k: 'rps' | 'rpm'): string[] => {
        const b = BUCKETS[k];
        const [value, now, d, cell] = [`txn.rl_${k}`, `txn.rl_now_${k}`, `txn.rl_d_${k}`, `sc_get_gpt(${b.cell},1)`];
        const clock = b.unitUs === 1 ? 'date(0,us)' : `date(0,us),div(${b.unitUs})`;
        return [
          `http-request set-var(${value}) ${c.routeId},map_str(${c.file(k === 'rps' ? 'limitRps' : 'limitRpm')}) if ${limited}`,
          `http-request set-var(${now}) ${clock},and(${CLOCK}) if { var(${value}) -m found }`,
          `http-request set-var(${d}) ${cell},sub(${now}),and(${CLOCK}) if { var(${value}) -m found }`,
          `http-request set-var(${d}) int(0) if { var(${value}) -m found } { ${cell} -m int lt ${SET} } or { var(${d}) -m int ge ${HALF} }`,
        ];
      };
      const over = (k: 'rps' | 'rpm'): string => `{ var(txn.rl_${k}),field(2,:),sub(txn.rl_d_${k}) -m int lt 0 }`;
      const commit = (k: 'rps' | 'rpm'): string =>
        `http-request sc-set-gpt(${BUCKETS[k].cell},1) var(txn.rl_${k}),field(1,:),add(txn.rl_d_${k}),add(txn.rl_now_${k}),and(${CLOCK}),or(${SET}) if { var(txn.rl_d_${k}) -m found }`;
      return [
        '# The rate limits (limit-rps, limit-rpm, limit-connections): per client address and Ingress (the zone), after',
        '# everything that answers for the route, as nginx limits after its rewrite phase; an allowlisted client',
        '# (limit-allowlist) is neither limited nor counted. The buckets are a GCRA, judged as nginx judges limit_req:',
        '# the request must fit every bucket, and only an accepted one is counted.',
        `http-request set-var(txn.rl) ${c.routeId},map_str(${c.file('limitZones')}) if ${c.hasId}`,
        ...(c.inUse.has('limitCells')
          ? [
              // A 6to4 or IPv4-compatible IPv6 client is never exempt: HAProxy would match it against IPv4 blocks as the
              // address it embeds (source-ranges.ts).
              `http-request unset-var(txn.rl) if ${limited} !{ src ${EMBEDDED_IPV4} } { src,map_ip(${c.file('limitCells')}),concat(|,txn.rl),map_str(${c.file('limitExempt')}) -m found }`,
            ]
          : []),
        ...(kinds.length > 0
          ? [
              `http-request track-sc1 ${key} table ${REQUEST_TABLE} if ${limited}`,
              ...kinds.flatMap(bucket),
              `${refusal(c.statuses.limitReq, 'too many requests from this address; try again later')} if ${kinds.map(over).join(' or ')}`,
              ...kinds.map(commit),
            ]
          : []),
        // After the buckets, as nginx runs limit_req before limit_conn: a request the rate refused is not counted here.
        ...(c.inUse.has('limitConnections')
          ? [
              `http-request set-var(txn.rl_conn) ${c.routeId},map_str_int(${c.file('limitConnections')}) if ${limited}`,
              `http-request track-sc2 ${key} table ${CONNECTION_TABLE} if { var(txn.rl_conn) -m found }`,
              `${refusal(c.statuses.limitConn, 'too many requests in progress from this address')} if { var(txn.rl_conn) -m found } { sc2_conn_cur,sub(txn.rl_conn) -m int gt 0 }`,
            ]
          : []),
      ];
    },
  },
});
