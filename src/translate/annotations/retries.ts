// How HAProxy connects to a backend and when it tries another server: proxy-connect-timeout, proxy-next-upstream,
// proxy-next-upstream-tries and proxy-next-upstream-timeout. ingress-nginx sets them per location; in HAProxy 2.6
// they are lines of a backend section (`timeout connect`, `retries`, `retry-on`; `http-request set-timeout` sets
// only the server and tunnel timeouts), so they are a backend policy (BackendPolicy.retry): a Service port asked for
// with them gets a backend section of its own, `..._retry<id>`, written by a reload (no spare carries such lines).
import { createHash } from 'node:crypto';
import type { RetryPolicy } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { integer, quote } from './values.js';
import type { ValueGrammar } from './values.js';

/** ingress-nginx's proxy-next-upstream words Portico serves. */
export type NextUpstreamWord = 'error' | 'timeout' | 'invalid_header' | 'http_500' | 'http_502' | 'http_503' | 'http_504' | 'http_403' | 'http_404' | 'non_idempotent' | 'off';

/** Each word's `retry-on` keywords in HAProxy 2.6. */
const RETRY_ON: Readonly<Record<NextUpstreamWord, readonly string[]>> = {
  // nginx: an error connecting, sending the request or reading the response header.
  error: ['conn-failure', 'empty-response'],
  // nginx: a timeout connecting or reading the response header (a connect timeout is a connection failure).
  timeout: ['conn-failure', 'response-timeout'],
  invalid_header: ['junk-response'],
  http_500: ['500'],
  http_502: ['502'],
  http_503: ['503'],
  http_504: ['504'],
  http_403: ['403'],
  http_404: ['404'],
  non_idempotent: [],
  off: [],
};

/** ingress-nginx's words HAProxy 2.6 cannot retry on, and why. */
const NOT_SERVED: ReadonlyMap<string, string> = new Map([['http_429', 'HAProxy 2.6 cannot retry on a 429 answer (its retry-on takes 401, 403, 404, 408, 425, 500, 501, 502, 503 and 504)']]);

/** ingress-nginx's default, `error timeout`. */
const DEFAULT_NEXT_UPSTREAM: readonly NextUpstreamWord[] = ['error', 'timeout'];
const DEFAULT_TRIES = 3;
/** HAProxy has no unlimited retries; nginx's unlimited stops once every server was tried. */
export const UNLIMITED_RETRIES = 32;

/** A space-separated subset of nginx's proxy_next_upstream words (any case, spaces and tabs between them). */
export const nextUpstream: ValueGrammar<NextUpstreamWord[]> = {
  describe: `words among ${Object.keys(RETRY_ON).join(', ')}, separated by spaces`,
  parse: (raw) => {
    const words = raw.split(/[ \t]+/).filter((w) => w !== '').map((w) => w.toLowerCase());
    if (words.length === 0) return { ok: false, reason: `${quote(raw)} holds no word` };
    const out: NextUpstreamWord[] = [];
    for (const w of words) {
      const why = NOT_SERVED.get(w);
      if (why !== undefined) return { ok: false, reason: `${quote(raw)}: ${why}` };
      if (!Object.hasOwn(RETRY_ON, w)) return { ok: false, reason: `${quote(raw)}: ${quote(w)} is not one of ${Object.keys(RETRY_ON).join(', ')}` };
      if (!out.includes(w as NextUpstreamWord)) out.push(w as NextUpstreamWord);
    }
    return { ok: true, value: out };
  },
};

const SECONDS = integer(1, 2_147_483);
const TRIES = integer(0, 1000);

/** Only 0: HAProxy 2.6 cannot bound the time spent trying servers. */
export const nextUpstreamTimeout: ValueGrammar<0> = {
  describe: '0 (no limit)',
  parse: (raw) => {
    const n = integer(0, 2_147_483).parse(raw);
    if (!n.ok) return n;
    return n.value === 0 ? { ok: true, value: 0 } : { ok: false, reason: `${quote(raw)}: HAProxy 2.6 cannot limit the time spent trying the next servers; only 0 (no limit) is accepted` };
  },
};

/** The retry policy an Ingress's annotations ask for; undefined when none of the four is set (the plain section:
 * the flag's connect timeout, 3 tries on connection failures). Unset ones take ingress-nginx's defaults. */
export function retryPolicyOf(v: AnnotationValues): RetryPolicy | undefined {
  if (v.proxyConnectTimeout === undefined && v.proxyNextUpstream === undefined && v.proxyNextUpstreamTries === undefined) return undefined;
  const words = v.proxyNextUpstream ?? DEFAULT_NEXT_UPSTREAM;
  const off = words.includes('off');
  const tries = v.proxyNextUpstreamTries ?? DEFAULT_TRIES;
  const retryOn = off ? ['none'] : [...new Set(words.flatMap((w) => RETRY_ON[w]))];
  const rest = {
    ...(v.proxyConnectTimeout !== undefined ? { connectSeconds: v.proxyConnectTimeout } : {}),
    retries: off || retryOn.length === 0 ? 0 : tries === 0 ? UNLIMITED_RETRIES : tries - 1,
    retryOn: retryOn.length === 0 ? ['none'] : retryOn,
    idempotentOnly: !words.includes('non_idempotent'),
  };
  const id = createHash('sha256').update(JSON.stringify([rest.connectSeconds ?? null, rest.retries, rest.retryOn, rest.idempotentOnly])).digest('hex').slice(0, 8);
  return { id, ...rest };
}

const SECTION =
  'Ingresses that send to one Service port with different values each get their own HAProxy backend (`..._retry<id>`), written by a reload: no spare section carries these lines, so a new such backend takes one reload; scaling it afterwards is runtime. Setting any of the four applies ingress-nginx\'s defaults to the others (`error timeout`, 3 tries); without them the backend keeps Portico\'s section (the `--upstream-connect-timeout`, 3 tries on connection failures only).';

export const RETRY_ANNOTATIONS = [
  annotation({
    name: 'proxy-connect-timeout',
    scope: 'backend',
    grammar: SECONDS,
    set: (v, x) => (v.proxyConnectTimeout = x),
    doc: {
      default: '`--upstream-connect-timeout` (5 s)',
      what: `Seconds HAProxy waits for a connection to a backend server (\`timeout connect\` in the backend's section). ${SECTION}`,
      differences: 'A backend setting: the Service port\'s section, not each path (ingress-nginx sets it per location). A connection that timed out is answered 502, as any connection that could not be made (B17); nginx answers 504. Zero and negative numbers are refused (A1).',
    },
  }),
  annotation({
    name: 'proxy-next-upstream',
    scope: 'backend',
    grammar: nextUpstream,
    set: (v, x) => (v.proxyNextUpstream = x),
    doc: {
      default: '`error timeout`',
      what: `When a request goes to another server (\`retry-on\`, with \`option redispatch\`): error → conn-failure empty-response, timeout → conn-failure response-timeout, invalid_header → junk-response, http_500/502/503/504/403/404 → the status, off → none. Without non_idempotent, POST, LOCK and PATCH requests are retried only when the connection failed (\`http-request disable-l7-retry\`). ${SECTION}`,
      differences:
        'http_429 is refused (A1; HAProxy 2.6 cannot retry on 429) and the default applies. A request larger than HAProxy\'s buffer (16 kB) is retried only on connection failures. A retry may pick a server tried before (nginx tries each at most once). The answer of the last try is the client\'s, as with nginx.',
    },
  }),
  annotation({
    name: 'proxy-next-upstream-tries',
    scope: 'backend',
    grammar: TRIES,
    set: (v, x) => (v.proxyNextUpstreamTries = x),
    doc: {
      default: '3',
      what: `How many servers a request may be tried on, the first included (\`retries\` one less). ${SECTION}`,
      differences: `0 (unlimited in nginx, which stops once every server was tried) is ${UNLIMITED_RETRIES + 1} tries; more than 1000 is refused (A1).`,
    },
  }),
  annotation({
    name: 'proxy-next-upstream-timeout',
    scope: 'backend',
    grammar: nextUpstreamTimeout,
    set: (v, x) => (v.proxyNextUpstreamTimeout = x),
    doc: {
      default: '0 (no limit)',
      what: 'Accepted only as 0, the default.',
      differences: 'Any other value is refused (A1) and there is no limit: HAProxy 2.6 cannot bound the time spent trying the next servers.',
    },
  }),
];
