// How HAProxy picks a server of a backend: load-balance and upstream-hash-by (with -subset and -subset-size).
// ingress-nginx balances in Lua per backend (round_robin, ewma; chash when upstream-hash-by is set; a cookie's
// sticky balancer when affinity is, which wins over both). In HAProxy 2.6 they are `balance` lines of the backend's
// section, so they are a backend policy (BackendPolicy.balance): a Service port asked for with them gets a backend
// section of its own, `..._lb<id>`, written by a reload (no spare carries such lines).
//
// upstream-hash-by is an nginx expression. It passes a strict grammar here (variables among a fixed list, literal text
// of letters, digits, `-` and `_`) and becomes structured parts; render.ts writes each variable from a fixed mapping
// to an HAProxy sample. Nothing of the value is copied into the configuration but checked names and literal text.
import { createHash } from 'node:crypto';
import type { BalancePolicy, HashKeyPart, HashVariable } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import type { Findings } from '../diagnostics.js';
import { bool, integer, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's load-balance words Portico serves. */
export type LoadBalanceWord = 'round_robin' | 'ewma';

/** ingress-nginx's other words, refused, and why. */
const NOT_SERVED: ReadonlyMap<string, string> = new Map([
  ['chash', 'chash is chosen by setting upstream-hash-by, not load-balance'],
  ['chashsubset', 'chashsubset is chosen by upstream-hash-by with upstream-hash-by-subset, which Portico does not serve'],
  ['sticky_balanced', 'sticky_balanced is chosen by the affinity annotation, not load-balance'],
  ['sticky_persistent', 'sticky_persistent is chosen by the affinity annotation, not load-balance'],
]);

export const loadBalance: ValueGrammar<LoadBalanceWord> = {
  describe: 'round_robin or ewma',
  parse: (raw) => {
    // ingress-nginx: case-sensitive, spaces trimmed.
    const w = trimSpaces(raw);
    if (w === 'round_robin' || w === 'ewma') return { ok: true, value: w };
    const why = NOT_SERVED.get(w);
    return { ok: false, reason: `${quote(raw)}: ${why ?? 'is not round_robin or ewma'}` };
  },
};

/** Variables without a name and the ones that take one (`$http_<name>`, ...), in nginx's spelling. */
const PLAIN: ReadonlySet<string> = new Set<HashVariable>(['request_uri', 'uri', 'args', 'host', 'remote_addr', 'binary_remote_addr', 'request_method']);
const NAMED: readonly (HashVariable & ('http' | 'cookie' | 'arg'))[] = ['http', 'cookie', 'arg'];
/** nginx reads `$query_string` as `$args`. */
const ALIASES: ReadonlyMap<string, HashVariable> = new Map([['query_string', 'args']]);
const NAME = /^[A-Za-z0-9_]{1,64}$/;
const MAX_LENGTH = 256;
const MAX_PARTS = 8;

function variableOf(name: string): HashKeyPart | undefined {
  const alias = ALIASES.get(name);
  if (alias) return { variable: alias };
  if (PLAIN.has(name)) return { variable: name as HashVariable };
  for (const v of NAMED) {
    const rest = name.startsWith(`${v}_`) ? name.slice(v.length + 1) : undefined;
    if (rest !== undefined && NAME.test(rest)) return { variable: v, name: v === 'http' ? rest.toLowerCase().replace(/_/g, '-') : rest };
  }
  return undefined;
}

const SERVED_VARIABLES = '$request_uri, $uri, $args, $query_string, $host, $remote_addr, $binary_remote_addr, $request_method, $http_<name>, $cookie_<name>, $arg_<name>';

/** nginx's complex value: `$name` (greedy over letters, digits and `_`) or `${name}`, and literal text between. */
export const hashBy: ValueGrammar<HashKeyPart[]> = {
  describe: `nginx variables among ${SERVED_VARIABLES}, as $name or \${name}, with letters, digits, - and _ between them`,
  parse: (raw) => {
    const s = trimSpaces(raw);
    if (s.length === 0) return { ok: false, reason: `${quote(raw)} is empty` };
    if (s.length > MAX_LENGTH) return { ok: false, reason: `${quote(raw)} is longer than ${MAX_LENGTH} characters` };
    const parts: HashKeyPart[] = [];
    const re = /\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)|([A-Za-z0-9_-]+)/y;
    let at = 0;
    while (at < s.length) {
      re.lastIndex = at;
      const m = re.exec(s);
      if (!m) return { ok: false, reason: `${quote(raw)}: unexpected ${quote(s.slice(at, at + 1))} at ${at} (letters, digits, -, _ and $variables only)` };
      at = re.lastIndex;
      const name = m[1] ?? m[2];
      if (name === undefined) {
        const last = parts.at(-1);
        if (last && 'text' in last) last.text += m[3]!;
        else parts.push({ text: m[3]! });
        continue;
      }
      const part = variableOf(name);
      if (!part) return { ok: false, reason: `${quote(raw)}: $${name} is not one of ${SERVED_VARIABLES}` };
      parts.push(part);
    }
    if (!parts.some((p) => 'variable' in p)) return { ok: false, reason: `${quote(raw)} names no variable: every request would go to one server` };
    if (parts.length > MAX_PARTS) return { ok: false, reason: `${quote(raw)} has more than ${MAX_PARTS} parts` };
    return { ok: true, value: parts };
  },
};

/** The balance policy an Ingress's annotations ask for; undefined for round robin (the plain section) and when
 * affinity is set: the cookie's key picks the server, as in ingress-nginx (checkBalance warns). upstream-hash-by wins
 * over load-balance, as in ingress-nginx. */
export function balancePolicyOf(v: AnnotationValues, affinity: boolean): BalancePolicy | undefined {
  if (affinity) return undefined;
  const rest: Omit<BalancePolicy, 'id'> | undefined = v.upstreamHashBy !== undefined ? { algorithm: 'hash', key: v.upstreamHashBy } : v.loadBalance === 'ewma' ? { algorithm: 'leastconn' } : undefined;
  if (!rest) return undefined;
  const id = createHash('sha256').update(JSON.stringify([rest.algorithm, rest.key ?? null])).digest('hex').slice(0, 8);
  return { id, ...rest };
}

/** What Portico serves differently: told once per Ingress. */
export function checkBalance(v: AnnotationValues, affinity: boolean, f: Findings): void {
  const field = 'metadata.annotations';
  if (affinity && (v.upstreamHashBy !== undefined || v.loadBalance === 'ewma'))
    f.warn(field, 'A1', 'affinity is set: its cookie picks the server, and load-balance and upstream-hash-by have no effect (as in ingress-nginx)');
  if (v.upstreamHashBySubset === true && v.upstreamHashBy !== undefined)
    f.warn(field, 'A1', 'upstream-hash-by-subset is not served: each key goes to one server (a consistent hash), not to a subset of upstream-hash-by-subset-size servers');
}

const SECTION =
  'Ingresses that send to one Service port with different values each get their own HAProxy backend (`..._lb<id>`), written by a reload: no spare section carries these lines, so a new such backend takes one reload; scaling it afterwards is runtime. With affinity set, the cookie picks the server and these have no effect (warning A1), as in ingress-nginx.';

export const BALANCE_ANNOTATIONS = [
  annotation({
    name: 'load-balance',
    scope: 'backend',
    grammar: loadBalance,
    set: (v, x) => (v.loadBalance = x),
    doc: {
      default: '`round_robin`',
      what: `How a backend's server is picked: \`round_robin\` → \`balance roundrobin\` (Portico's section); \`ewma\` → \`balance leastconn\`. ${SECTION}`,
      differences:
        'ewma (nginx: the lowest peak-EWMA of response time, weighted by requests in flight) is served as HAProxy\'s leastconn, the fewest connections in flight, which has no latency memory. chash, chashsubset, sticky_balanced and sticky_persistent are refused (A1; they follow from upstream-hash-by and affinity). upstream-hash-by wins over load-balance, as in ingress-nginx. A backend setting: the Service port\'s section.',
    },
  }),
  annotation({
    name: 'upstream-hash-by',
    scope: 'backend',
    grammar: hashBy,
    set: (v, x) => (v.upstreamHashBy = x),
    doc: {
      default: 'none (round robin)',
      what: `A consistent hash of an nginx expression picks the server (\`balance hash\`, \`hash-type consistent sdbm avalanche\`): one variable is hashed as HAProxy's sample, several with text between are joined first (\`http-request set-var-fmt\`). $request_uri → capture.req.uri, $uri → path, $args/$query_string → query, $host → the Host header lowercased without port, $remote_addr and $binary_remote_addr → src, $request_method → method, $http_<name> → req.fhdr(<name>, _ as -, first), $cookie_<name> → req.cook(<name>), $arg_<name> → url_param(<name>). ${SECTION}`,
      differences:
        'Other variables, characters other than letters, digits, -, _ and $name/${name}, an expression without variable and more than 256 characters are refused (A1). A key of one variable that is missing (no such header, cookie or argument) is balanced round robin, where nginx hashes the empty string to one server; in a joined key a missing part is empty, as in nginx. HAProxy\'s hash and ring are not nginx\'s (crc32, resty.chash): the same key goes to one pod, but not the pod nginx would pick. $uri is the path before rewrite-target, not nginx\'s normalised one.',
    },
  }),
  annotation({
    name: 'upstream-hash-by-subset',
    scope: 'backend',
    grammar: bool,
    set: (v, x) => (v.upstreamHashBySubset = x),
    doc: {
      default: 'false',
      what: 'Read and checked.',
      differences: 'Not served: with `true` (warning A1) each key still goes to one server by consistent hashing, not to a random server of a subset.',
    },
  }),
  annotation({
    name: 'upstream-hash-by-subset-size',
    scope: 'backend',
    grammar: integer(1, 1000),
    set: (v, x) => (v.upstreamHashBySubsetSize = x),
    doc: {
      default: '3',
      what: 'Read and checked, without effect (upstream-hash-by-subset is not served).',
      differences: 'Without effect.',
    },
  }),
];
