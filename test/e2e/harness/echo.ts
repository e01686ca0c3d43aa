// Echo "pods": one HTTP server per loopback address, answering with what it saw so a test can tell which backend
// served a request and what the proxy did to it on the way.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { rawToString } from './internal.js';

export interface Echo {
  pod: string;
  ip: string;
  port: number;
  /** `http://ip:port`, for talking to the pod directly. */
  url: string;
  /** Plain HTTP requests received so far, counted on arrival (WebSocket upgrades are not counted). */
  readonly requests: number;
  /** TCP connections accepted so far: with fewer than requests, the proxy reused its connections. */
  readonly connections: number;
  close(): Promise<void>;
  /** What a pod does on SIGTERM: stop accepting, let the requests in flight finish, then close every connection. */
  shutdown(): Promise<void>;
}

/** The requests that reached any of `pods` so far (counted on arrival): to wait until one in flight is there. */
export function requestsArrived(pods: readonly Echo[]): number {
  return pods.reduce((n, pod) => n + pod.requests, 0);
}

/** What an echo pod answers, as JSON. */
export interface EchoReply {
  pod: string;
  ip: string;
  port: number;
  method: string;
  /** The raw request target, query included, exactly as received. */
  path: string;
  host: string;
  proto: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface EchoOptions {
  pod: string;
  ip: string;
  port: number;
  tls?: false;
}

export async function startEcho(opts: EchoOptions): Promise<Echo> {
  const { pod, ip, port } = opts;
  let requests = 0;
  const timers = new Set<NodeJS.Timeout>();
  const wss = new WebSocketServer({ noServer: true });

  const reply = (req: IncomingMessage, res: ServerResponse, body: string, status = 200): void => {
    const noBody = status === 204 || status === 304;
    const payload: EchoReply = {
      pod,
      ip,
      port,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      proto: `HTTP/${req.httpVersion}`,
      headers: req.headers,
      body,
    };
    const text = JSON.stringify(payload);
    // `?reply-header=name:value` (repeatable): headers the pod adds to its answer, for tests of what the proxy
    // does to a backend's headers.
    const extra: [string, string][] = new URL(req.url ?? '/', 'http://echo.invalid').searchParams.getAll('reply-header').map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]);
    // Explicit Content-Length so tests can check the proxy keeps it rather than switching to chunked.
    res.writeHead(status, [...(noBody ? [] : [['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(text))]]), ...extra].flat());
    res.end(noBody ? undefined : text);
  };

  let inFlight = 0;
  // Headers up to 64 kB (Node's default is 16 kB): a test of a larger header limit in front needs a pod that takes them.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    requests++;
    inFlight++;
    res.on('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://echo.invalid');
      const status = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (status) {
        const code = Number(status[1]);
        if (code >= 200 && code <= 599) reply(req, res, body, code);
        else reply(req, res, body, 400);
      } else if (url.pathname === '/slow') {
        const t = setTimeout(() => {
          timers.delete(t);
          reply(req, res, body);
        }, Number(url.searchParams.get('ms') ?? '1000'));
        timers.add(t);
      } else if (url.pathname === '/close') {
        req.socket.destroy();
      } else {
        reply(req, res, body);
      }
    });
  });
  // Node closes idle keep-alive connections after 5 s by default; HAProxy may pick such a connection for a request
  // at the very moment it closes and answer 502. Real servers keep idle connections longer than the proxy does.
  server.keepAliveTimeout = 65_000;
  let connections = 0;
  server.on('connection', () => connections++);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: RawData) => ws.send(`${pod}:${rawToString(data)}`));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    pod,
    ip,
    port,
    url: `http://${ip}:${port}`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    async shutdown() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
      server.closeAllConnections();
      await closed;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Upgraded sockets no longer belong to the HTTP server, so closeAllConnections() would not end them.
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

export interface EchoPodsOptions {
  namePrefix: string;
  /** The first three octets, e.g. `127.0.10`; pods get `.1` to `.n`. */
  ipBase: string;
  port: number;
}

/** `n` pods named `${namePrefix}-1`... on `${ipBase}.1`... If one fails to start, the others are closed. */
export async function startEchoPods(n: number, opts: EchoPodsOptions): Promise<Echo[]> {
  const started = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => startEcho({ pod: `${opts.namePrefix}-${i + 1}`, ip: `${opts.ipBase}.${i + 1}`, port: opts.port })),
  );
  const pods = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(pods.map((p) => p.close()));
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  return pods;
}
