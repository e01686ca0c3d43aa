// Free TCP ports from the OS. There is an unavoidable window between closing our probe and the real owner binding
// the port; remembering what we handed out at least stops two Porticos started in parallel from getting the same one.
import { connect, createServer } from 'node:net';

const handedOut = new Set<number>();

/** Binds port 0 on `host`, reads the port the OS chose, closes. Never returns a port this process already got. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await probe(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort(${host}): the OS kept offering ports already handed out`);
}

/** `k` distinct free ports. */
export async function freePorts(k: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < k; i++) ports.push(await freePort(host));
  return ports;
}

function probe(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('freePort: server has no TCP address'));
      });
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
