// The origin every proxy forwards to: one nginx worker returning a fixed 12-byte body, fast enough (~70k req/s on
// one core here) that the proxy, not the origin, is the bottleneck. It also plays the echo "pods" the convergence
// test switches between, each answering with its own address so a response shows which endpoint served it. One
// more path echoes the forwarding headers it received, for the self-check of the peers that claim to send them.
import { join } from 'node:path';
import type { Child } from '../lib/processes.js';
import { waitForPort } from '../lib/probes.js';
import { ORIGIN_ECHO_LOCATION } from './forwarded-headers.js';
import { nginxConf, startNginx } from './nginx-process.js';

/** The data-plane origin listens on both: every Service gets two endpoints, as a Deployment of two pods would. */
export const ORIGIN_ADDRESSES = ['127.0.0.2', '127.0.0.3'];
/** Echo pods for the convergence test. */
export const ECHO_ADDRESSES = ['127.0.3.1', '127.0.3.2', '127.0.3.3', '127.0.3.4'];
export const BODY = 'hello world\n';

export interface Backend {
  port: number;
  child: Child;
}

export async function startBackend(workDir: string, port: number, cpus: string): Promise<Backend> {
  const prefix = join(workDir, 'backend-nginx');
  const origin = `  server {
${ORIGIN_ADDRESSES.map((a) => `    listen ${a}:${port} backlog=4096;`).join('\n')}
    location / { default_type text/plain; return 200 "${BODY.replace('\n', '\\n')}"; }
    ${ORIGIN_ECHO_LOCATION}
  }`;
  const echoes = ECHO_ADDRESSES.map(
    (a) => `  server {
    listen ${a}:${port};
    location / { default_type text/plain; return 200 "${a}"; }
  }`,
  ).join('\n');
  const child = await startNginx('backend-nginx', prefix, nginxConf(prefix, `${origin}\n${echoes}`), cpus);
  for (const a of [...ORIGIN_ADDRESSES, ...ECHO_ADDRESSES]) await waitForPort(port, 5000, 'backend nginx', a, child);
  return { port, child };
}
