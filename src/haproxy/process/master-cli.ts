// A one-shot client for HAProxy's unix-socket CLIs (master CLI and runtime API): send one command, read to EOF.
import { createConnection } from 'node:net';

export function cliCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`HAProxy CLI ${socketPath}: no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.end(`${command}\n`));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export interface ProcInfo {
  masterReloads: number;
  failedReloads: number;
  /** The current worker first; `old`: replaced by a reload, still finishing what it serves. */
  workers: { pid: number; reloads: number; old: boolean }[];
}

/** Parses `show proc` from the master CLI (HAProxy 2.6 layout). */
export function parseShowProc(text: string): ProcInfo {
  const info: ProcInfo = { masterReloads: 0, failedReloads: 0, workers: [] };
  let section = 'master';
  for (const line of text.split('\n')) {
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old workers';
    else if (line.startsWith('# programs')) section = 'programs';
    if (line.startsWith('#') || line.trim() === '') continue;
    const cols = line.trim().split(/\s+/);
    if (cols[1] === 'master') {
      info.masterReloads = Number(cols[2]);
      const failed = /\[failed: (\d+)\]/.exec(line);
      info.failedReloads = failed ? Number(failed[1]) : 0;
    } else if ((section === 'workers' || section === 'old workers') && cols[1] === 'worker') {
      info.workers.push({ pid: Number(cols[0]), reloads: Number(cols[2]), old: section === 'old workers' });
    }
  }
  return info;
}
