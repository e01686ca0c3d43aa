// The origin for instruction counts: one fixed answer, byte for byte the shape of the bench's nginx origin (same
// headers, same 12-byte body), served from the counting process itself. The count only looks at HAProxy, so the
// origin's speed does not matter, but its answer does (each response header is work for HAProxy); and it must not
// need nginx, because the CI test (test/perf/instructions.test.ts) counts the same way on a machine without it.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { BODY, ORIGIN_ADDRESSES } from './backend.js';

export interface FixedOrigin {
  port: number;
  /** `address:port` of each endpoint, in the order of ORIGIN_ADDRESSES. */
  endpoints: string[];
  /** Requests answered so far. */
  readonly requests: number;
  /** Request heads received so far, most recent last (the last 16), for checks of what the proxy forwarded. */
  readonly heads: string[];
  close(): Promise<void>;
}

const ANSWER = Buffer.from(
  // A fixed Date: its length is all HAProxy sees of it.
  `HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 00:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\nConnection: keep-alive\r\n\r\n${BODY}`,
);
const END_OF_HEAD = '\r\n\r\n';
const HEADS_KEPT = 16;

/** Listens on every ORIGIN_ADDRESSES entry on one port; answers every request head (bodies are not expected). */
export async function startFixedOrigin(port = 0): Promise<FixedOrigin> {
  let requests = 0;
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const onConnection = (s: Socket): void => {
    sockets.add(s);
    s.setNoDelay(true);
    let pending = '';
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf(END_OF_HEAD); end >= 0; end = pending.indexOf(END_OF_HEAD)) {
        heads.push(pending.slice(0, end));
        if (heads.length > HEADS_KEPT) heads.shift();
        pending = pending.slice(end + END_OF_HEAD.length);
        requests++;
        s.write(ANSWER);
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
  };
  const { servers, chosen } = await listenOnAll(onConnection, port);
  return {
    port: chosen,
    endpoints: ORIGIN_ADDRESSES.map((a) => `${a}:${chosen}`),
    get requests() {
      return requests;
    },
    heads,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    },
  };
}

/** One server per origin address, all on one port: the first address's free port, tried again if another address
 * has it taken. */
async function listenOnAll(onConnection: (s: Socket) => void, port: number): Promise<{ servers: Server[]; chosen: number }> {
  for (let attempt = 0; ; attempt++) {
    const servers: Server[] = [];
    let chosen = port;
    try {
      for (const address of ORIGIN_ADDRESSES) {
        const srv = createServer(onConnection);
        servers.push(srv);
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host: address, port: chosen, backlog: 512 }, () => resolve());
        });
        const a = srv.address();
        if (a === null || typeof a !== 'object') throw new Error('fixed origin: no TCP address');
        chosen = a.port;
      }
      return { servers, chosen };
    } catch (e) {
      await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
      if (port !== 0 || attempt >= 10 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}
