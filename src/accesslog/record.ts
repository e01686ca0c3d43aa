// HAProxy's line (wire.ts) -> a typed request record. Strict: a line that is not exactly the wire format (a message
// HAProxy logs on its own, a truncated line) is not a record, and every string a client sent is decoded from base64
// here, so none of its bytes ever took part in framing the line.
import { QUIET_ROUTE_FLAG, WIRE_KEYS } from './wire.js';
import { GATE_BACKEND as BODY_GATE_SECTION } from '../haproxy/render/body-limit.js';

/** The part of a record Portico knows about the route from its own model (the lead's RouteResolver, and sections). */
export interface RouteInfo {
  namespace: string;
  ingress: string;
  /** The rule's host and path as the Ingress writes them. */
  path: string;
  /** `namespace/name:port` of the Service. */
  service: string;
}

/** Resolves the Ingress, rule and Service of a request from its Host, path and the route value HAProxy chose. */
export type RouteResolver = (host: string, path: string, routeValue: string) => RouteInfo | undefined;

/** One request, as HAProxy served it. Times in milliseconds; -1 where HAProxy never reached that step. */
export interface RequestRecord {
  /** The worker's pid and its request counter: unique per request (a line recovered from the ring is a second copy). */
  key: string;
  /** When the request's connection was accepted (ISO 8601, milliseconds). */
  time: string;
  /** The client's address, after the settings ConfigMap's trusted-proxy handling (HAProxy's set-src). */
  client: string;
  /** `http` or `https`: the listener. */
  scheme: 'http' | 'https';
  method: string;
  /** The Host header as sent ('' without one). */
  host: string;
  /** The request's path as the client sent it, without the query. */
  path: string;
  query: string;
  protocol: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** Time to connect to the endpoint (%Tc), for its response headers (%Tr), for the response's body after them (%Td),
   * and from the request's first byte to the response's last (%Ta, nginx's $request_time). */
  connectMs: number;
  responseMs: number;
  dataMs: number;
  totalMs: number;
  /** The route value the routing maps gave (`<flags>|<section>|<route id>`), '' when no route matched. */
  route: string;
  routeId: string;
  /** The HAProxy section that served the request (from the route value), its server and the server's address and
   * port (from the model; '' when none was picked). */
  section: string;
  server: string;
  endpoint: string;
  /** The Service of that section (`namespace/name:port`), '' when unknown (a section of Portico's own). */
  service: string;
  /** The Ingress and rule, when a RouteResolver knows them. */
  namespace: string;
  ingress: string;
  rule: string;
  tlsVersion: string;
  sni: string;
  requestId: string;
  userAgent: string;
  /** HAProxy's termination state and cookie flags (`----` for a request that ended normally). */
  termination: string;
  /** enable-access-log: "false" on the route: subscribers get the record, the access log does not. */
  quiet: boolean;
}

/** What a record's parsing leaves to Portico's model: the endpoint's address, Service and Ingress names. */
export type ParsedRecord = Omit<RequestRecord, 'endpoint' | 'service' | 'namespace' | 'ingress' | 'rule'>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOKEN = /^[\x21-\x7e]*$/;

function text(v: unknown, kind: 'base64' | 'token'): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === '-') return '';
  if (kind === 'token') return TOKEN.test(v) ? v : undefined;
  if (v.length % 4 !== 0 || !BASE64.test(v)) return undefined;
  // Invalid UTF-8 becomes U+FFFD: the record is text, and JSON.stringify escapes every control character of it.
  return Buffer.from(v, 'base64').toString('utf8');
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/** A record from one of HAProxy's lines, or undefined when the line is not one. */
export function parseHaproxyLine(line: string): ParsedRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const raw = o as Record<string, unknown>;
  const keys = Object.keys(raw);
  if (keys.length !== WIRE_KEYS.size) return undefined;
  const f: Record<string, string | number> = {};
  for (const k of keys) {
    const kind = WIRE_KEYS.get(k);
    if (kind === undefined) return undefined;
    const v = kind === 'number' ? num(raw[k]) : text(raw[k], kind);
    if (v === undefined) return undefined;
    f[k] = v;
  }
  const s = (k: string): string => f[k] as string;
  const n = (k: string): number => f[k] as number;
  const uri = s('u');
  const q = uri.indexOf('?');
  const route = s('r');
  const fields = route.split('|');
  // The route's section is its second field, unless the body gate put its own in front (body-limit.ts): then third.
  const section = fields.length >= 3 && fields[1] === BODY_GATE_SECTION ? fields[2]! : (fields[1] ?? '');
  return {
    key: s('k'),
    time: new Date(n('t')).toISOString(),
    client: s('ci'),
    scheme: s('tls') === '' ? 'http' : 'https',
    method: s('m'),
    host: s('h'),
    path: q < 0 ? uri : uri.slice(0, q),
    query: q < 0 ? '' : uri.slice(q + 1),
    protocol: s('v'),
    status: n('st'),
    bytesIn: n('bi'),
    bytesOut: n('bo'),
    connectMs: n('tc'),
    responseMs: n('tr'),
    dataMs: n('td'),
    totalMs: n('ta'),
    route,
    routeId: fields.length >= 3 && fields[fields.length - 1]!.startsWith('p.') ? fields[fields.length - 1]! : '',
    section,
    server: s('s') === '<NOSRV>' ? '' : s('s'),
    tlsVersion: s('tls'),
    sni: s('sni'),
    requestId: s('id'),
    userAgent: s('ua'),
    termination: s('ts'),
    quiet: fields.length >= 2 && fields[0]!.includes(QUIET_ROUTE_FLAG),
  };
}
