// One-shot probes for convergence: each opens a fresh connection, because a kept-alive connection can stay on an
// old HAProxy worker after a reload and would report the old configuration.
import { request } from 'node:http';
import type { Agent } from 'node:http';
import { createConnection } from 'node:net';
import { connect } from 'node:tls';
import { sleep } from './processes.js';
import type { Child } from './processes.js';

export interface HttpAnswer {
  status: number;
  body: string;
  location?: string | undefined;
}

/** One GET; on a fresh connection unless `agent` keeps connections alive across calls. */
export function httpGet(port: number, host: string, path = '/', timeoutMs = 2000, address = '127.0.0.1', agent?: Agent): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, agent: agent ?? false, headers: agent ? { host } : { host, connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** SHA-256 fingerprint (Node's colon form) of the certificate the server presents for `servername`. */
export function tlsFingerprint(port: number, servername: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], timeout: timeoutMs }, () => {
      const fp = sock.getPeerCertificate().fingerprint256;
      sock.destroy();
      resolve(fp);
    });
    sock.on('timeout', () => sock.destroy(new Error('TLS handshake timeout')));
    sock.on('error', reject);
  });
}

/**
 * Calls `check` about every `intervalMs` (a check that takes longer is followed at once by the next) until it
 * returns true; failed checks count as false. Resolves with elapsed ms since `t0`, or undefined after `timeoutMs`.
 */
export async function pollUntil(check: () => Promise<boolean>, t0: number, intervalMs: number, timeoutMs: number): Promise<number | undefined> {
  for (;;) {
    const started = performance.now();
    const ok = await check().catch(() => false);
    const now = performance.now();
    if (ok) return now - t0;
    if (now - t0 > timeoutMs) return undefined;
    const wait = intervalMs - (now - started);
    if (wait > 0) await sleep(wait);
  }
}

/**
 * Resolves once something accepts TCP connections on `address`:`port`; rejects early, with its output, if the
 * process that should listen there exits first.
 */
export async function waitForPort(port: number, timeoutMs: number, what: string, address = '127.0.0.1', owner?: Child): Promise<void> {
  const open = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createConnection({ host: address, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  const t0 = performance.now();
  while (!(await open())) {
    if (owner?.hasExited) throw new Error(`${what} exited before listening on ${address}:${port}: ${owner.tail()}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: nothing listening on ${address}:${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}
