// Lines HAProxy could not write to its standard output (Portico did not read for a while: a long translation, a busy
// machine) are still in each worker's ring (render/access-log.ts). Once a second, each worker's DroppedLogs is asked
// through the master CLI; when it grew, the worker's ring is read (`show events`) and its lines go through the access
// log like any other, which keeps the first copy of each request (record keys) and so adds only the missing ones.
import { cliCommand, parseShowProc } from '../haproxy/process/master-cli.js';
import type { AccessLog } from './access-log.js';

export interface RecoveryOptions {
  masterSocket: string;
  ring: string;
  log: AccessLog;
  intervalMs?: number;
}

export class DroppedLineRecovery {
  private readonly dropped = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Times a worker's ring was read. */
  reads = 0;

  constructor(private readonly o: RecoveryOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: every worker whose count of dropped lines grew has its ring read. */
  async check(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const workers = parseShowProc(await cliCommand(this.o.masterSocket, 'show proc', 2000)).workers.map((w) => w.pid);
      for (const pid of this.dropped.keys()) if (!workers.includes(pid)) this.dropped.delete(pid);
      for (const pid of workers) {
        const m = /^DroppedLogs: (\d+)$/m.exec(await cliCommand(this.o.masterSocket, `@!${pid} show info`, 2000));
        const now = m ? Number(m[1]) : 0;
        if (now <= (this.dropped.get(pid) ?? 0)) continue;
        this.dropped.set(pid, now);
        const events = await cliCommand(this.o.masterSocket, `@!${pid} show events ${this.o.ring}`, 10_000);
        this.reads++;
        const read = this.o.log.reader();
        read(events.endsWith('\n') ? events : `${events}\n`);
      }
    } catch {
      // HAProxy reloading or restarting: the next round asks again (a worker that is gone took its ring along).
    } finally {
      this.running = false;
    }
  }
}
