// A FastCGI "pod": a responder speaking the FastCGI record protocol (version 1) over TCP, as PHP-FPM does, that
// answers every request with what it received (its params and its stdin) as JSON, so a test sees exactly what a
// FastCGI application behind HAProxy's fcgi-app is told about the request.
import { createServer } from 'node:net';
import type { Socket } from 'node:net';

export interface FastCgiPod {
  pod: string;
  ip: string;
  port: number;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

/** What the responder answers, as JSON. */
export interface FastCgiReply {
  pod: string;
  role: number;
  /** Whether the web server asked to keep the connection open (FCGI_KEEP_CONN). */
  keepConn: boolean;
  params: Record<string, string>;
  /** The names of the params in the order they came. */
  order: string[];
  stdin: string;
}

const BEGIN_REQUEST = 1;
const ABORT_REQUEST = 2;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const GET_VALUES = 9;
const GET_VALUES_RESULT = 10;
const UNKNOWN_TYPE = 11;
const KEEP_CONN = 1;

function record(type: number, requestId: number, content: Buffer): Buffer {
  const padding = (8 - (content.length % 8)) % 8;
  const head = Buffer.alloc(8);
  head.writeUInt8(1, 0);
  head.writeUInt8(type, 1);
  head.writeUInt16BE(requestId, 2);
  head.writeUInt16BE(content.length, 4);
  head.writeUInt8(padding, 6);
  return Buffer.concat([head, content, Buffer.alloc(padding)]);
}

/** A stream's content in records of at most 65,535 bytes, then the empty record that ends the stream. */
function stream(type: number, requestId: number, content: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < content.length; at += 65_535) parts.push(record(type, requestId, content.subarray(at, at + 65_535)));
  parts.push(record(type, requestId, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function pairLength(buf: Buffer, at: number): [number, number] {
  const first = buf.readUInt8(at);
  return first < 128 ? [first, at + 1] : [buf.readUInt32BE(at) & 0x7fffffff, at + 4];
}

/** FastCGI name-value pairs (lengths of 1 or 4 bytes). */
export function decodePairs(buf: Buffer): [string, string][] {
  const out: [string, string][] = [];
  let at = 0;
  while (at < buf.length) {
    const [nameLength, a] = pairLength(buf, at);
    const [valueLength, b] = pairLength(buf, a);
    out.push([buf.toString('latin1', b, b + nameLength), buf.toString('latin1', b + nameLength, b + nameLength + valueLength)]);
    at = b + nameLength + valueLength;
  }
  return out;
}

export function encodePairs(pairs: readonly (readonly [string, string])[]): Buffer {
  const length = (n: number): Buffer => {
    if (n < 128) return Buffer.from([n]);
    const b = Buffer.alloc(4);
    b.writeUInt32BE((n | 0x80000000) >>> 0);
    return b;
  };
  return Buffer.concat(pairs.flatMap(([n, v]) => [length(Buffer.byteLength(n, 'latin1')), length(Buffer.byteLength(v, 'latin1')), Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1')]));
}

interface Pending {
  role: number;
  keepConn: boolean;
  params: Buffer[];
  stdin: Buffer[];
  paramsDone: boolean;
}

export async function startFastCgi(opts: { pod: string; ip: string; port: number }): Promise<FastCgiPod> {
  const { pod, ip, port } = opts;
  let requests = 0;
  const sockets = new Set<Socket>();

  const answer = (socket: Socket, id: number, p: Pending): void => {
    const pairs = decodePairs(Buffer.concat(p.params));
    const reply: FastCgiReply = { pod, role: p.role, keepConn: p.keepConn, params: Object.fromEntries(pairs), order: pairs.map(([n]) => n), stdin: Buffer.concat(p.stdin).toString('latin1') };
    const body = JSON.stringify(reply);
    // A CGI response: headers, a blank line, the body; Status sets the HTTP status (RFC 3875 6.3.3).
    const out = Buffer.from(`Status: 200 OK\r\nContent-Type: application/json\r\nX-FastCGI-Pod: ${pod}\r\n\r\n${body}`, 'latin1');
    const end = Buffer.alloc(8);
    end.writeUInt32BE(0, 0);
    requests++;
    socket.write(Buffer.concat([stream(STDOUT, id, out), record(END_REQUEST, id, end)]));
    if (!p.keepConn) socket.end();
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const pending = new Map<number, Pending>();
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 8) {
        const type = buf.readUInt8(1);
        const id = buf.readUInt16BE(2);
        const length = buf.readUInt16BE(4);
        const padding = buf.readUInt8(6);
        if (buf.length < 8 + length + padding) break;
        const content = buf.subarray(8, 8 + length);
        buf = buf.subarray(8 + length + padding);
        if (type === BEGIN_REQUEST) {
          pending.set(id, { role: content.readUInt16BE(0), keepConn: (content.readUInt8(2) & KEEP_CONN) !== 0, params: [], stdin: [], paramsDone: false });
        } else if (type === PARAMS) {
          const p = pending.get(id);
          if (!p) continue;
          if (length === 0) p.paramsDone = true;
          else p.params.push(Buffer.from(content));
        } else if (type === STDIN) {
          const p = pending.get(id);
          if (!p) continue;
          if (length > 0) {
            p.stdin.push(Buffer.from(content));
            continue;
          }
          pending.delete(id);
          answer(socket, id, p);
        } else if (type === ABORT_REQUEST) {
          pending.delete(id);
        } else if (type === GET_VALUES) {
          // One request per connection, as PHP-FPM answers.
          const asked = decodePairs(content).map(([n]) => n);
          const known: Record<string, string> = { FCGI_MAX_CONNS: '100', FCGI_MAX_REQS: '100', FCGI_MPXS_CONNS: '0' };
          socket.write(record(GET_VALUES_RESULT, 0, encodePairs(asked.filter((n) => n in known).map((n) => [n, known[n]!] as const))));
        } else if (id === 0) {
          const unknown = Buffer.alloc(8);
          unknown.writeUInt8(type, 0);
          socket.write(record(UNKNOWN_TYPE, 0, unknown));
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  return {
    pod,
    ip,
    port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
