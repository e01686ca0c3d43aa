// Raw HTTP/1.1 over a plain socket, for requests no well-behaved client library would send: a missing Host, control
// characters in a header, hand-written Upgrade and Connection headers, or connections held open on purpose. Also
// binds the client side to a chosen loopback address, so a test can act as several distinct clients.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface RawOptions {
  /** Source address of the connection (any 127.x address on Linux). */
  localAddress?: string;
  timeoutMs?: number;
}

/** Opens a connection from `localAddress` (if given) to 127.0.0.1:port. */
export function openSocket(port: number, opts: RawOptions = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Reads one HTTP/1.x response from `socket` (Content-Length or close-delimited body; 1xx answers are returned as
 * they are, so a test sees a 101). Rejects when the connection closes before a status line, or on timeout.
 */
export function readResponse(socket: Socket, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, res?: RawResponse): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(res!);
    };
    const parse = (closed: boolean): void => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (closed) done(new Error(buf.length === 0 ? 'connection closed without a response' : `incomplete response head: ${buf.toString('latin1').slice(0, 200)}`));
        return;
      }
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i <= 0) continue;
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      const rest = buf.subarray(end + 4);
      const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
      if (status === 101 || status === 204 || status === 304 || length === 0) return done(undefined, { status, headers, body: '' });
      if (length !== undefined && rest.length >= length) {
        // Whatever follows belongs to the next message on this connection: give it back.
        if (rest.length > length) socket.unshift(rest.subarray(length));
        return done(undefined, { status, headers, body: rest.subarray(0, length).toString('utf8') });
      }
      if (length === undefined && closed) return done(undefined, { status, headers, body: rest.toString('utf8') });
      if (closed) done(new Error(`connection closed after ${rest.length} of ${length} body bytes`));
    };
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      parse(false);
    };
    const onClose = (): void => parse(true);
    const onError = (e: Error): void => done(e);
    const timer = setTimeout(() => done(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}

/** Sends `head` (a request head without the final blank line; CRLFs added) and an optional body, on a fresh
 * connection, and reads the response; the connection is closed afterwards. */
export async function rawRequest(port: number, head: string[], body = '', opts: RawOptions = {}): Promise<RawResponse> {
  const s = await openSocket(port, opts);
  try {
    s.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    return await readResponse(s, opts.timeoutMs);
  } finally {
    s.destroy();
  }
}

/** Resolves true when the server closes `socket` (or resets it) within `timeoutMs`, false when it stays open. */
export function closedWithin(socket: Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      socket.off('close', onClose);
      resolve(false);
    }, timeoutMs);
    const onClose = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    socket.once('close', onClose);
    socket.on('error', () => undefined);
    socket.resume();
  });
}

/** A chunked POST to `path` of `pieces` chunks of 1 kB, `gapMs` apart, ended properly unless Portico closes first. */
export async function chunkedPost(port: number, host: string, pieces: number, gapMs: number, path = '/upload'): Promise<RawResponse> {
  const s = await openSocket(port);
  s.on('error', () => undefined); // Portico may answer and close while the client is still writing
  try {
    const response = readResponse(s, 15_000);
    s.write([`POST ${path} HTTP/1.1`, `Host: ${host}`, 'Transfer-Encoding: chunked', 'Content-Type: text/plain', '', ''].join('\r\n'));
    for (let i = 0; i < pieces && !s.destroyed; i++) {
      const data = String.fromCharCode(97 + (i % 26)).repeat(1024);
      s.write(`${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    if (!s.destroyed) s.write('0\r\n\r\n');
    return await response;
  } finally {
    s.destroy();
  }
}
