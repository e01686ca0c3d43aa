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

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOKEN = /^[\x21-\x7e]*$/;

function token(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === '-') return '';
  return TOKEN.test(v) ? v : undefined;
}

/**
 * Decoded values of the fields that repeat from request to request (method, protocol, Host, User-Agent, SNI): most
 * lines of a busy proxy carry the same few, and a lookup costs a tenth of a decode. Bounded: a client sending a new
 * User-Agent each time empties it now and then, and costs a decode per line, never memory.
 */
const REPEATED = new Map<string, string>();
const REPEATED_MAX = 4096;

function base64(v: unknown, repeats = false): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === '-') return '';
  if (repeats) {
    const known = REPEATED.get(v);
    if (known !== undefined) return known;
  }
  if (v.length % 4 !== 0 || !BASE64.test(v)) return undefined;
  // Invalid UTF-8 becomes U+FFFD: the record is text, and JSON.stringify escapes every control character of it.
  const text = Buffer.from(v, 'base64').toString('utf8');
  if (repeats && v.length <= 512) {
    if (REPEATED.size >= REPEATED_MAX) REPEATED.clear();
    REPEATED.set(v, text);
  }
  return text;
}

/** `new Date(ms).toISOString()`, its text up to the second made once per second. */
let isoSecond = -1;
let isoPrefix = '';
function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  return `${isoPrefix}${String(ms - second * 1000).padStart(3, '0')}Z`;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
}

/**
 * A record from one of HAProxy's lines, or undefined when the line is not one. Its Portico-side fields (endpoint,
 * Service, Ingress, rule) are empty, for the access log to fill. Every line of a busy HAProxy passes here, so the
 * fields are read by name rather than through the wire table (a third of the cost), with the same strictness: exactly
 * the wire's keys, each of its kind.
 */
export function parseHaproxyLine(line: string): RequestRecord | undefined {
  if (line.charCodeAt(0) !== 0x7b) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const raw = o as Record<string, unknown>;
  let keys = 0;
  for (const k in raw) {
    if (!WIRE_KEYS.has(k)) return undefined;
    keys++;
  }
  if (keys !== WIRE_KEYS.size) return undefined;
  const key = token(raw.k);
  const t = num(raw.t);
  const client = token(raw.ci);
  const method = base64(raw.m, true);
  const uri = base64(raw.u);
  const protocol = base64(raw.v, true);
  const host = base64(raw.h, true);
  const userAgent = base64(raw.ua, true);
  const requestId = base64(raw.id);
  const status = num(raw.st);
  const bytesIn = num(raw.bi);
  const bytesOut = num(raw.bo);
  const connectMs = num(raw.tc);
  const responseMs = num(raw.tr);
  const dataMs = num(raw.td);
  const totalMs = num(raw.ta);
  const route = token(raw.r);
  const server = token(raw.s);
  const tlsVersion = token(raw.tls);
  const sni = base64(raw.sni, true);
  const termination = token(raw.ts);
  if (
    key === undefined || t === undefined || client === undefined || method === undefined || uri === undefined || protocol === undefined || host === undefined ||
    userAgent === undefined || requestId === undefined || status === undefined || bytesIn === undefined || bytesOut === undefined || connectMs === undefined ||
    responseMs === undefined || dataMs === undefined || totalMs === undefined || route === undefined || server === undefined || tlsVersion === undefined ||
    sni === undefined || termination === undefined
  )
    return undefined;
  const q = uri.indexOf('?');
  const fields = route.split('|');
  // The route's section is its second field, unless the body gate put its own in front (body-limit.ts): then third.
  const section = fields.length >= 3 && fields[1] === BODY_GATE_SECTION ? fields[2]! : (fields[1] ?? '');
  return {
    key,
    time: isoTime(t),
    client,
    scheme: tlsVersion === '' ? 'http' : 'https',
    method,
    host,
    path: q < 0 ? uri : uri.slice(0, q),
    query: q < 0 ? '' : uri.slice(q + 1),
    protocol,
    status,
    bytesIn,
    bytesOut,
    connectMs,
    responseMs,
    dataMs,
    totalMs,
    route,
    routeId: fields.length >= 3 && fields[fields.length - 1]!.startsWith('p.') ? fields[fields.length - 1]! : '',
    section,
    server: server === '<NOSRV>' ? '' : server,
    endpoint: '',
    service: '',
    namespace: '',
    ingress: '',
    rule: '',
    tlsVersion,
    sni,
    requestId,
    userAgent,
    termination,
    quiet: fields.length >= 2 && fields[0]!.includes(QUIET_ROUTE_FLAG),
  };
}
