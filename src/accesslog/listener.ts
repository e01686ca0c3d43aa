// The unix socket HAProxy's ring forwards the request lines to (render/access-log.ts): one connection per worker,
// each read on its own, so lines of two workers (an old one draining after a reload, the new one) never mix.
import { chmod, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { AccessLog } from './access-log.js';
import { ACCESS_LOG_SOCKET } from './wire.js';

export async function listenForRequestLines(stateDir: string, log: AccessLog): Promise<Server> {
  const path = join(stateDir, ACCESS_LOG_SOCKET);
  // A socket left by an earlier Portico with this state directory (which state-dir.ts made sure is ours).
  await rm(path, { force: true });
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    socket.on('data', log.reader());
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return server;
}
