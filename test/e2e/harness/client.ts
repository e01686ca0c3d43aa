// Clients for the e2e tests. Every request uses a fresh connection, so load balancing and routing are observed per
// request rather than per pooled connection, and nothing is left open between tests (httpGetVia aside, whose caller
// owns the keep-alive agent).
import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Agent as HttpAgent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders as H2Headers } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import { Agent } from 'undici';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { rawToString } from './internal.js';

export type Headers = Record<string, string | string[]>;

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
  /** The body parsed as JSON; throws with the body in the message when it is not JSON. */
  json<T>(): T;
}

export interface HttpOptions {
  /** Where to connect; default 127.0.0.1 (where Portico listens). Echo pods have their own addresses. */
  address?: string;
  /** The client's own address (any 127.x works on loopback): what access lists see. */
  localAddress?: string;
  /** Host header; by default `127.0.0.1:port`. */
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Headers and body must arrive within this time (default 30 s): a hung proxy fails the test instead of stalling it. */
  timeoutMs?: number;
}

export interface CertInfo {
  /** RFC 2253-ish lines as node's X509Certificate prints them, e.g. `CN=foo`. */
  subject: string;
  /** e.g. `DNS:foo.test, DNS:bar.test`; empty when the certificate has no SAN extension. */
  subjectaltname: string;
  fingerprint256: string;
  issuer: string;
}

export interface HttpsOptions extends HttpOptions {
  /** SNI. Omitted: no SNI at all (we connect to an IP, and the Host header is deliberately not used). */
  servername?: string;
  /** A client certificate (PEM) and its key, sent when the server asks for one. */
  clientCert?: { certPem: string; keyPem: string };
  ca?: string;
  rejectUnauthorized?: boolean;
  /** Offered ALPN protocols. httpsGet speaks HTTP/1.1 only: use http2Get for h2. */
  alpn?: string[];
}

export interface HttpsResponse extends HttpResponse {
  cert: CertInfo;
  alpnProtocol: string | null;
}

const DEFAULT_TIMEOUT = 30_000;

/** One plain HTTP request to 127.0.0.1:port (or `address`) on its own connection; redirects are returned, never followed. */
export async function httpGet(port: number, opts: HttpOptions = {}): Promise<HttpResponse> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const agent = new Agent({ pipelining: 0, headersTimeout: timeout, bodyTimeout: timeout, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  try {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.host !== undefined) headers.host = opts.host;
    // dispatcher.request takes origin and path apart: the path is sent as given, never normalised like a URL would be.
    const res = await agent.request({
      origin: `http://${opts.address ?? '127.0.0.1'}:${port}`,
      path: opts.path ?? '/',
      method: opts.method ?? 'GET',
      headers,
      body: opts.body ?? null,
    });
    const body = await res.body.text();
    return response(res.statusCode, cleanHeaders(res.headers), body);
  } finally {
    await agent.destroy();
  }
}

/** One HTTPS (HTTP/1.1) request to 127.0.0.1:port (or `address`), with the certificate the server presented. */
export function httpsGet(port: number, opts: HttpsOptions = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.host !== undefined) headers.host = opts.host;
    const req = httpsRequest(
      {
        host: opts.address ?? '127.0.0.1',
        port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers,
        agent: false,
        // Node derives SNI from the Host header when servername is undefined; '' sends none (checked in selftest).
        servername: opts.servername ?? '',
        ca: opts.ca,
        ...(opts.clientCert ? { cert: opts.clientCert.certPem, key: opts.clientCert.keyPem } : {}),
        rejectUnauthorized: opts.rejectUnauthorized ?? false,
        ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT,
      },
      (res) => {
        // Read while the socket is still open: it is gone once the body has been consumed.
        const socket = res.socket as TLSSocket;
        let cert: CertInfo;
        try {
          cert = certInfo(socket.getPeerCertificate(true));
        } catch (e) {
          res.destroy();
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        const alpnProtocol = socket.alpnProtocol || null;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const base = response(res.statusCode ?? 0, cleanHeaders(res.headers), Buffer.concat(chunks).toString('utf8'));
          resolve({ ...base, cert, alpnProtocol });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`httpsGet :${port}: no answer within ${opts.timeoutMs ?? DEFAULT_TIMEOUT} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface HandshakeResult {
  cert: CertInfo;
  alpnProtocol: string | null;
  /** e.g. `TLSv1.3`. */
  protocol: string | null;
}

/** A bare TLS handshake with 127.0.0.1:port (no HTTP), for certificate selection and ALPN. */
export function tlsHandshake(port: number, opts: { servername?: string; alpn?: string[]; timeoutMs?: number } = {}): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: opts.servername ?? '',
      rejectUnauthorized: false,
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
    });
    socket.setTimeout(opts.timeoutMs ?? 10_000, () => socket.destroy(new Error(`tlsHandshake :${port}: timed out`)));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      try {
        resolve({ cert: certInfo(socket.getPeerCertificate(true)), alpnProtocol: socket.alpnProtocol || null, protocol: socket.getProtocol() });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      } finally {
        // end(), not destroy(): with TLS 1.3 the server completes its side only on reading our Finished, and a reset
        // right behind it turns a good handshake into an error in the server's log.
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
  });
}

/** One HTTP/2 GET over TLS (certificate not verified); `host` becomes :authority. */
export function http2Get(port: number, opts: { servername?: string; host?: string; path?: string; timeoutMs?: number } = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { servername: opts.servername ?? '', rejectUnauthorized: false });
    const fail = (e: Error): void => {
      session.destroy();
      reject(e);
    };
    session.once('error', fail);
    session.setTimeout(opts.timeoutMs ?? DEFAULT_TIMEOUT, () => fail(new Error(`http2Get :${port}: timed out`)));
    const stream = session.request({ ':method': 'GET', ':path': opts.path ?? '/', ':authority': opts.host ?? `127.0.0.1:${port}` });
    let status = 0;
    let headers: Headers = {};
    stream.once('response', (h: H2Headers) => {
      status = Number(h[':status']);
      headers = cleanHeaders(h);
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', fail);
    stream.once('end', () => {
      session.close();
      resolve(response(status, headers, Buffer.concat(chunks).toString('utf8')));
    });
    stream.end();
  });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** A function is called only on timeout, so it can describe the last thing seen. */
  message?: string | (() => string);
}

/**
 * Polls `fn` until it resolves true. A rejection counts as "not yet" (the thing being waited for may not be
 * listening yet); the last one is quoted if time runs out.
 */
export async function waitFor(fn: () => Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 50, message = 'condition not met' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)})`;
      throw new Error(`${typeof message === 'function' ? message() : message}: still false after ${timeoutMs} ms${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls httpGet until it answers `expectedStatus`, and returns that response. */
export async function waitForStatus(port: number, opts: HttpOptions, expectedStatus: number, timeoutMs = 5000): Promise<HttpResponse> {
  let last: HttpResponse | undefined;
  await waitFor(
    async () => {
      last = await httpGet(port, opts);
      return last.status === expectedStatus;
    },
    { timeoutMs, message: () => `${opts.method ?? 'GET'} ${opts.host ?? ''}${opts.path ?? '/'} on :${port} never answered ${expectedStatus} (last: ${last?.status ?? 'none'})` },
  );
  return last!;
}

export interface WsClient {
  send(text: string): void;
  /** The next message not yet taken, as text; rejects on timeout or when the socket closes first. */
  next(timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Every WebSocket opened by websocket() and not closed yet: see closeClients(). */
const openWebSockets = new Set<WebSocket>();

/**
 * Ends every WebSocket a test left open, at once. A test that fails between opening one and closing it would
 * otherwise leave a stream that holds Portico's graceful shutdown for its whole grace period, and a socket that
 * keeps the test process alive.
 */
export function closeClients(): void {
  for (const ws of openWebSockets) ws.terminate();
  openWebSockets.clear();
}

/** Opens a WebSocket, optionally with a Host header other than the URL's, and resolves once it is open. */
export function websocket(url: string, opts: { host?: string } = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers: opts.host !== undefined ? { host: opts.host } : {} });
  openWebSockets.add(ws);
  ws.on('close', () => openWebSockets.delete(ws));
  const queue: string[] = [];
  const waiters: { resolve: (m: string) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | undefined;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const text = isBinary ? '<binary>' : rawToString(data);
    const w = waiters.shift();
    if (w) w.resolve(text);
    else queue.push(text);
  });
  const end = (e: Error): void => {
    ended ??= e;
    for (const w of waiters.splice(0)) w.reject(e);
  };
  ws.on('close', (code: number) => end(new Error(`websocket ${url} closed (${code})`)));
  ws.on('error', (e: Error) => end(e));

  const client: WsClient = {
    send: (text) => ws.send(text),
    next: (timeoutMs = 5000) => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (ended) return Promise.reject(ended);
      return new Promise<string>((resolve, reject) => {
        const w = {
          resolve: (m: string) => {
            clearTimeout(t);
            resolve(m);
          },
          reject: (e: Error) => {
            clearTimeout(t);
            reject(e);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`websocket ${url}: no message within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => {
      ws.close();
      // A peer that never answers the close frame would keep the socket (and the test process) alive for 30 s.
      setTimeout(() => ws.terminate(), 1000).unref();
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

function response(status: number, headers: Headers, body: string): HttpResponse {
  return {
    status,
    headers,
    body,
    json<T>(): T {
      try {
        return JSON.parse(body) as T;
      } catch {
        throw new Error(`response ${status} is not JSON: ${body.slice(0, 500)}`);
      }
    },
  };
}

function cleanHeaders(h: Record<string, string | string[] | number | undefined>): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.startsWith(':')) continue;
    out[k.toLowerCase()] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

function certInfo(peer: PeerCertificate): CertInfo {
  if (!peer.raw) throw new Error('the server presented no certificate');
  // X509Certificate prints the subject as `CN=...` text, which tests can match, where the peer object has a map.
  const x = new X509Certificate(peer.raw);
  return { subject: x.subject, subjectaltname: x.subjectAltName ?? '', fingerprint256: x.fingerprint256, issuer: x.issuer };
}

/** A series without labels from Portico's metrics on `adminPort` (a counter or gauge such as `portico_haproxy_reloads_total`). */
export async function metricValue(adminPort: number, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec((await httpGet(adminPort, { path: '/metrics' })).body);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

/** How many times Portico has reloaded HAProxy, from its metrics on `adminPort`. */
export function reloadCount(adminPort: number): Promise<number> {
  return metricValue(adminPort, 'portico_haproxy_reloads_total');
}

/** One plain HTTP GET through `agent` (node:http, keep-alive), unlike httpGet: calls through one agent with
 * `maxSockets: 1` share one connection, to see what a proxy does with a connection kept alive. */
export function httpGetVia(agent: HttpAgent, port: number, opts: { host: string; path?: string; headers?: Record<string, string> }): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: opts.path ?? '/', headers: { ...opts.headers, host: opts.host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve(response(res.statusCode ?? 0, cleanHeaders(res.headers), body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/2 request without content-length on `session`, its body written in pieces of 1 kB; the session is closed
 * once the stream is. A stream reset (after a 413, say) ends it with the status seen so far. */
export function http2Upload(session: ClientHttp2Session, o: { authority: string; path: string; pieces: number; method?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    // endStream: node would otherwise end a GET's stream with its headers.
    const req = session.request({ ':method': o.method ?? 'POST', ':path': o.path, ':authority': o.authority }, { endStream: false });
    let status = 0;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
    });
    let i = 0;
    const next = (): void => {
      if (req.destroyed || req.writableEnded) return;
      if (i++ >= o.pieces) return void req.end();
      req.write('z'.repeat(1024), () => setTimeout(next, 5));
    };
    next();
  });
}
