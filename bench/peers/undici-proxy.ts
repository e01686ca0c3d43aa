// Starts undici-proxy-server.js as a pinned child process.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cert } from '../lib/certs.js';
import { startChild } from '../lib/processes.js';
import { waitForPort } from '../lib/probes.js';
import { processPeer } from './peer.js';
import type { Peer } from './peer.js';
import type { Routes } from './routes.js';

const serverScript = fileURLToPath(new URL('./undici-proxy-server.js', import.meta.url));

export async function startUndiciProxy(o: { dir: string; routes: Routes; cert: Cert; httpPort: number; httpsPort: number; cpus: string }): Promise<Peer> {
  const configFile = join(o.dir, 'undici-proxy.json');
  const config = { httpPort: o.httpPort, httpsPort: o.httpsPort, certFile: o.cert.certFile, keyFile: o.cert.keyFile, hosts: o.routes.hosts, origins: o.routes.origins };
  await writeFile(configFile, JSON.stringify(config));
  const child = startChild('undici-proxy', process.execPath, [serverScript, configFile], { cpus: o.cpus });
  await waitForPort(o.httpsPort, 30_000, 'undici proxy', '127.0.0.1', child);
  return processPeer({ name: 'undici', httpPort: o.httpPort, httpsPort: o.httpsPort, h2: false, child, info: { node: process.version } });
}
