// Request mirroring: mirror-target, mirror-request-body and mirror-host, as ingress-nginx's mirror parser and its
// template give them (internal/ingress/annotations/mirror, nginx.tmpl `mirror` and buildMirrorLocations): every
// request of the Ingress's paths is copied to the target URL with the client's method, headers and (unless
// mirror-request-body is off) body, with Host set to mirror-host, and the mirror's answer is thrown away.
//
// The target is map data for a Lua action (render/policy/mirror.ts), never configuration text, so a changed target is
// a map update. Its authority must be written out (a DNS name or an IPv4 address, an optional port): a variable
// there would let a request choose where Portico connects, which nginx would allow (`http://$host`) and Portico does not.
import type { MirrorPolicy } from '../../model/types.js';
import { URL_VARIABLES, variablesOf } from './auth-external.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { hostAndPort, oneOf, quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

// ingress-nginx's URLWithNginxVariableRegex less the space: letters, digits and `- . _ ~ / : , ? & = $` and the braces
// of `${name}`. No `%`, `#`, quote, `;` or `@` (no user part that could hide the real host).
const URL_TEMPLATE = /^[-._~A-Za-z0-9/:,?&=${}]{1,2040}$/;
const AUTHORITY = /^([A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?$/;
// What may follow the authority directly: a path, a query, or $request_uri (which always starts with `/`). Another
// variable there would run on into the host name.
const AFTER_AUTHORITY = /^(|[/?].*|\$request_uri\b.*|\$\{request_uri\}.*)$/s;

/** mirror-target: an http:// or https:// URL with a written host, its path and query possibly holding nginx variables. */
export const mirrorTarget: ValueGrammar<string> = {
  describe: 'an http:// or https:// URL with a DNS name or IPv4 address as host, of letters, digits and - . _ ~ / : , ? & =, possibly with $request_uri, $escaped_request_uri, $host, $http_host or $scheme after the host',
  parse: (raw) => {
    if (!URL_TEMPLATE.test(raw)) return fail(`${quote(raw)} is not an http:// or https:// URL of letters, digits and - . _ ~ / : , ? & = (and nginx variables)`);
    const m = /^(https?):\/\/([^/?$]*)(.*)$/is.exec(raw);
    if (!m) return fail(`${quote(raw)} does not start with http:// or https://`);
    const authority = AUTHORITY.exec(m[2]!);
    const port = authority?.[2] === undefined ? 1 : Number(authority[2]);
    if (!authority || m[2]!.includes('..') || port < 1 || port > 65535)
      return fail(`${quote(raw)} has no host, or a host that is not a DNS name or IPv4 address with an optional port (a variable may not choose the host)`);
    if (!AFTER_AUTHORITY.test(m[3]!)) return fail(`${quote(raw)} has a variable other than $request_uri right after the host, which would choose the host`);
    const vars = variablesOf(raw, (n) => (URL_VARIABLES as readonly string[]).includes(n), 'a URL');
    if (!vars.ok) return vars;
    return ok(`${m[1]!.toLowerCase()}://${m[2]!.toLowerCase()}${m[3]!}`);
  },
};

export const MIRROR_ANNOTATIONS = [
  annotation({
    name: 'mirror-target',
    scope: 'route',
    grammar: mirrorTarget,
    set: (v, x) => (v.mirrorTarget = x),
    doc: {
      default: 'none: requests are not mirrored',
      what: "Each request to this Ingress's paths that reaches its backend (after the access lists, authentication and rate limits, as nginx's mirror runs after its access phase) is also sent to this URL, by HAProxy's Lua HTTP client from a task of its own, with the client's method, headers (Portico's X-Forwarded-For, X-Real-IP and X-Request-ID included; hop-by-hop and framing headers dropped) and body; the mirror's answer is thrown away, and the client's request neither waits for the mirror nor depends on it (a slow or dead mirror changes nothing the client sees). nginx variables, after the host: `$request_uri` (path and query as sent), `$escaped_request_uri`, `$host`, `$http_host`, `$scheme`; any other is refused (A1). A host name is resolved through `--resolvers` (HAProxy's resolvers read neither /etc/hosts nor search domains: write `mirror.ns.svc.cluster.local`). At most 64 mirror requests are in flight per HAProxy process; a request beyond that is not mirrored. Counters (`echo 'portico mirror' | socat - <state dir>/haproxy.sock`): started, finished, dropped because 64 were in flight, dropped for the method, dropped for the body, in flight. Live: a changed target is a map update.",
      differences:
        "The host must be written out, a DNS name or an IPv4 address (no variable, no IPv6 literal); ingress-nginx takes any URL nginx takes. A target without a path is asked for `/` (nginx sends its internal `/_mirror-<uid>` path and the query): write `$request_uri` to mirror the request's own path, as ingress-nginx's documentation does. The client's next request on a connection never waits for the mirror (nginx holds it until the mirror answers). PATCH, OPTIONS, CONNECT, TRACE and other methods are not mirrored (HAProxy 2.6's Lua HTTP client sends only GET, HEAD, POST, PUT and DELETE). A mirror that does not answer within 10 s, or closes the connection without answering, is sent the request again, up to 3 more times (HAProxy 2.6's HTTP client retries on timeouts and disconnections, which Lua cannot turn off), so a slow mirror may receive a request up to 4 times; nginx sends it once. Beyond 64 mirror requests in flight, requests are not mirrored (nginx has no limit). HTTPS certificates of the mirror are not verified (nor are they by ingress-nginx).",
    },
  }),
  annotation({
    name: 'mirror-request-body',
    scope: 'route',
    grammar: oneOf(['on', 'off'] as const),
    set: (v, x) => (v.mirrorRequestBody = x === 'on'),
    doc: {
      default: '`on`',
      what: '`off`: the mirror receives the request without its body (and without Content-Length). `on`: with it (and its Content-Length), when its length is announced (Content-Length) and at most 8 KiB; HAProxy waits up to 5 s for such a body before passing the request on (the backend receives the request once the body is in, as with nginx, which reads the body before mirroring).',
      differences: 'With `on`, a request whose body is larger than 8 KiB, or whose length is not announced (chunked, or HTTP/2 without content-length), or whose body did not arrive within 5 s, is not mirrored at all (and counted); nginx mirrors any body.',
    },
  }),
  annotation({
    name: 'mirror-host',
    scope: 'route',
    grammar: hostAndPort,
    set: (v, x) => (v.mirrorHost = x),
    doc: {
      default: "the host of mirror-target, without its port",
      what: 'The Host header of the mirrored requests.',
      differences: 'A host name with an optional port only; ingress-nginx also accepts regular-expression characters, which make no sense in a Host header.',
    },
  }),
];

/** A route's mirror: absent without a valid mirror-target. */
export function mirrorOf(v: AnnotationValues): MirrorPolicy | undefined {
  if (v.mirrorTarget === undefined) return undefined;
  const host = v.mirrorHost ?? /^[a-z]+:\/\/([^/?$:]*)/.exec(v.mirrorTarget)![1]!;
  return { url: v.mirrorTarget, host, body: v.mirrorRequestBody ?? true };
}
