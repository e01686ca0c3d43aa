// A traffic port someone else holds is an error at start, never a shared port. HAProxy binds with SO_REUSEPORT
// unless told `noreuseport` (the rendered configuration says it), and with it a second HAProxy, for instance one
// left behind by a Portico killed earlier, would share the port with ours and answer part of the requests from a
// stale configuration. Checking here gives a clear message before HAProxy is started; `noreuseport` covers the
// moments after (a restart finds the port taken: the restart fails, and says why).
import { createServer } from 'node:net';

export class PortInUseError extends Error {}

export async function assertPortsFree(host: string, ports: { port: number; flag: string }[]): Promise<void> {
  for (const { port, flag } of ports) {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', (e) => resolve(e));
      srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
    });
    if (!err) continue;
    const why =
      err.code === 'EADDRINUSE'
        ? 'the address is already in use: another process listens there (another Portico, or an HAProxy left behind by one); Portico never shares a port'
        : err.message;
    throw new PortInUseError(`${flag} ${port}: cannot listen on ${host}:${port}: ${why}`);
  }
}
