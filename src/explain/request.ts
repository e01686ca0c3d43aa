// What explain is asked about: one HTTP request as a client sends it, and the two normalisations HAProxy applies
// before routing (rule H1 on the Host header, path-canonical.ts on the path), written here once for every caller
// (the CLI, /debug/explain, and the access log's route lookup).
import { canonicalPath } from '../translate/path-canonical.js';

export interface ExplainRequest {
  method: string;
  scheme: 'http' | 'https';
  /** The Host header (HTTP/2's :authority) as sent; absent: none (HTTP/1.0). */
  host?: string;
  /** The path as sent, before the `?`. */
  path: string;
  /** What follows the `?`, without it; absent: no `?`. */
  query?: string;
  /** Request headers by lowercase name (the first value of each). */
  headers: Record<string, string>;
  /** The TLS server name; absent with https: the Host without port (what browsers send). */
  sni?: string;
  /** The client's address, for the access lists; absent: those are described, not decided. */
  clientAddress?: string;
}

export class RequestError extends Error {}

/**
 * Rule H1 exactly as the frontend computes it (`req.fhdr(host),lower,field(1,:),regsub(\.$,)`): lowercased, cut at the
 * first `:`, one trailing dot removed. An IPv6 literal (`[::1]:80` becomes `[`) then matches no Ingress host, as
 * in HAProxy.
 */
export function normaliseHost(raw: string): string {
  return raw.toLowerCase().split(':', 1)[0]!.replace(/\.$/, '');
}

/** The path a route is chosen by: the canonical form HAProxy brings the request path to, or why it answers 400. */
export function requestPath(raw: string): { ok: true; path: string } | { ok: false; reason: string } {
  const c = canonicalPath(raw === '' ? '/' : raw);
  return c.ok ? { ok: true, path: c.path } : { ok: false, reason: `the path ${c.reason}` };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
const METHOD = /^[A-Z]{1,32}$/;
const MAX_URL = 16_384;
const MAX_HEADER_VALUE = 16_384;

/**
 * A request from a URL (`http://host[:port]/path?query`), a method and `Name: value` headers, as the CLI and
 * /debug/explain take them. A Host header given explicitly replaces the URL's authority, so a request can name a host
 * that does not resolve.
 */
export function requestFromUrl(url: string, method = 'GET', headerLines: readonly string[] = [], extra: { sni?: string; clientAddress?: string } = {}): ExplainRequest {
  if (url.length > MAX_URL) throw new RequestError(`the URL is longer than ${MAX_URL} characters`);
  const m = /^(https?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i.exec(url);
  if (!m) throw new RequestError(`${JSON.stringify(url.slice(0, 200))} is not an http:// or https:// URL`);
  const upper = method.toUpperCase();
  if (!METHOD.test(upper)) throw new RequestError(`${JSON.stringify(method.slice(0, 40))} is not an HTTP method`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    const name = i < 0 ? '' : line.slice(0, i).trim().toLowerCase();
    if (!HEADER_NAME.test(name)) throw new RequestError(`header ${JSON.stringify(line.slice(0, 80))} must be NAME:VALUE with a token as name`);
    const value = line.slice(i + 1).trim();
    if (value.length > MAX_HEADER_VALUE || /[\r\n\0]/.test(value)) throw new RequestError(`header ${name}: the value is longer than ${MAX_HEADER_VALUE} characters or holds a line break`);
    headers[name] ??= value;
  }
  const authority = m[2]!.replace(/^[^@]*@/, '');
  headers.host ??= authority;
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  return {
    method: upper,
    scheme,
    host: headers.host,
    path: m[3] === '' ? '/' : m[3]!,
    ...(m[4] !== undefined ? { query: m[4] } : {}),
    headers,
    ...(extra.sni !== undefined ? { sni: extra.sni } : {}),
    ...(extra.clientAddress !== undefined ? { clientAddress: extra.clientAddress } : {}),
  };
}
