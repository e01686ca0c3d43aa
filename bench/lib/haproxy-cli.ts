// Reads `show info` from an HAProxy stats socket: the thread count decides whether two HAProxies are comparable.
import { createConnection } from 'node:net';

export function haproxyInfo(socketPath: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = createConnection(socketPath, () => s.write('show info\n'));
    s.setEncoding('utf8');
    s.on('data', (c: string) => (text += c));
    s.on('error', reject);
    s.on('end', () => {
      const info: Record<string, string> = {};
      for (const line of text.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) info[line.slice(0, i)] = line.slice(i + 1).trim();
      }
      resolve(info);
    });
  });
}
