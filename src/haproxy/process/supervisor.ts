// Owns the HAProxy master process: start, check, hitless reload, graceful stop, and restart when it dies.
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log.js';
import { cliCommand, parseShowProc } from './master-cli.js';

export interface SupervisorOptions {
  bin: string;
  /** Stable path of the live configuration: the master re-reads it on every reload and restart. */
  configPath: string;
  masterSocket: string;
  /** Ports that must accept connections before the data plane counts as ready, and the address to probe them on. */
  probePorts: number[];
  probeHost: string;
  /** HAProxy writes its master's pid here, so that a master orphaned by a crashed Portico can be stopped. */
  pidFile: string;
  log: Logger;
  onRestart?: (reason: string) => void;
}

export class HaproxyError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

const RESTART_DELAYS_MS = [100, 250, 500, 1000];

export class HaproxySupervisor {
  private proc: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private recentOutput: string[] = [];
  /** Runs before HAProxy is restarted after it died: the configuration on disk may need bringing up to date. */
  beforeRestart: (() => Promise<void>) | undefined;

  constructor(private readonly o: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** `haproxy -c`: the gate every candidate configuration passes before it replaces a working one. */
  check(configPath: string): Promise<{ ok: boolean; output: string }> {
    return new Promise((resolve) => {
      execFile(this.o.bin, ['-c', '-f', configPath], { timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        resolve({ ok: !err, output: `${stdout}${stderr}`.trim() || (err ? err.message : '') });
      });
    });
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.stopOrphan();
    await this.spawnMaster();
  }

  /** A Portico killed with SIGKILL leaves its HAProxy running on the ports; stop that one before starting ours. */
  private async stopOrphan(): Promise<void> {
    const pid = Number((await readFile(this.o.pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(this.o.configPath)) return;
    this.o.log.warn({ component: 'supervisor', pid }, 'stopping an HAProxy left behind by a previous Portico');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== ''; i++) await sleep(20);
  }

  private async spawnMaster(): Promise<void> {
    const args = ['-W', '-db', '-f', this.o.configPath, '-S', `${this.o.masterSocket},mode,600`, '-p', this.o.pidFile];
    const proc = spawn(this.o.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.recentOutput = [];
    const onLine = (buf: Buffer): void => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.recentOutput.push(line);
        if (this.recentOutput.length > 50) this.recentOutput.shift();
        // A worker retiring after a reload reports every backend it stops: thousands of lines that say nothing new.
        const routine = /: (Proxy \S+ stopped|Stopping (backend|frontend|proxy) )/.test(line);
        const level = /\[(ALERT|EMERG)\]/.test(line) ? 'error' : /\[WARNING\]/.test(line) && !routine ? 'warn' : 'debug';
        this.o.log[level]({ component: 'haproxy', pid: proc.pid }, line);
      }
    };
    proc.stdout?.on('data', onLine);
    proc.stderr?.on('data', onLine);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    let served = false;
    proc.once('exit', (code, signal) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      // A master that never served failed to start: the caller (start() or the restart loop) has the error and
      // decides. Restarting it here would run a configuration the caller is about to replace, beside the next one.
      if (this.stopping || !served) return;
      const reason = `HAProxy master ${proc.pid} exited unexpectedly (code ${code}, signal ${signal}): ${this.recentOutput.slice(-3).join(' | ')}`;
      this.o.log.error({ component: 'supervisor' }, reason);
      this.o.onRestart?.(reason);
      void this.restartLoop();
    });
    proc.once('error', (e) => this.o.log.error({ component: 'supervisor', err: e.message }, 'cannot run HAProxy'));
    await Promise.race([
      this.waitUntilServing().then(() => {
        served = true;
      }),
      exited.then(() => {
        throw new HaproxyError('HAProxy exited during start-up', this.recentOutput.join('\n'));
      }),
    ]);
  }

  private async restartLoop(): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]);
      if (this.stopping || this.proc) return;
      try {
        await this.beforeRestart?.();
        if (this.stopping || this.proc) return; // started meanwhile (beforeRestart waits for a running apply)
        await this.spawnMaster();
        this.restarts++;
        this.o.log.warn({ component: 'supervisor', restarts: this.restarts }, 'HAProxy restarted with the last good configuration');
        return;
      } catch (e) {
        this.o.log.error({ component: 'supervisor', err: (e as Error).message }, 'HAProxy restart failed; retrying');
      }
    }
  }

  private async showProc(): Promise<ReturnType<typeof parseShowProc> | undefined> {
    try {
      return parseShowProc(await cliCommand(this.o.masterSocket, 'show proc', 2000));
    } catch {
      return undefined;
    }
  }

  /** Ready means a worker exists and every listener accepts a TCP connection. */
  private async waitUntilServing(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const info = await this.showProc();
      if (info && info.workers.length > 0 && (await Promise.all(this.o.probePorts.map((p) => canConnect(this.o.probeHost, p)))).every(Boolean)) return;
      await sleep(25);
    }
    throw new HaproxyError('HAProxy did not start serving in time', this.recentOutput.join('\n'));
  }

  /**
   * Hitless reload: the master re-executes with the new configuration and the new worker takes over the listening
   * sockets (`expose-fd listeners`), so no connection is refused; old workers finish their connections.
   */
  async reload(timeoutMs = 15_000): Promise<void> {
    const before = await this.showProc();
    const proc = this.proc;
    if (!before || !proc?.pid) throw new HaproxyError('HAProxy is not running', this.recentOutput.join('\n'));
    process.kill(proc.pid, 'SIGUSR2');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await sleep(10);
      const now = await this.showProc();
      if (!now) continue;
      if (now.failedReloads > before.failedReloads) throw new HaproxyError('HAProxy rejected the new configuration', this.recentOutput.join('\n'));
      if (now.masterReloads > before.masterReloads && now.workers.some((w) => w.reloads === 0)) return;
    }
    throw new HaproxyError('HAProxy did not finish reloading in time', this.recentOutput.join('\n'));
  }

  /**
   * Soft stop (SIGUSR1): listeners close at once and in-flight requests finish. Idle keep-alive connections would
   * otherwise hold a worker until their timeout (`idle-close-on-response` keeps them open for reloads), so once no
   * request is in flight anywhere, HAProxy is stopped; after `graceMs` it is stopped regardless.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const proc = this.proc;
    if (!proc?.pid || proc.exitCode !== null) return;
    let exited = false;
    const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    void exit.then(() => (exited = true));
    proc.kill('SIGUSR1');
    const deadline = Date.now() + graceMs;
    while (!exited && Date.now() < deadline) {
      await Promise.race([exit, sleep(100)]);
      if (!exited && (await this.requestsInFlight()) === 0) break;
    }
    if (!exited) {
      if (Date.now() >= deadline) this.o.log.warn({ component: 'supervisor', graceMs }, 'in-flight requests did not finish within the grace period; stopping HAProxy');
      proc.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(3000).then(() => false)]);
      if (!killed) proc.kill('SIGKILL');
      await exit;
    }
    this.proc = undefined;
  }

  /** Streams (requests, WebSockets) alive in any worker; idle keep-alive connections have none. Unknown = 1. */
  private async requestsInFlight(): Promise<number> {
    const info = await this.showProc();
    if (!info) return 1;
    let total = 0;
    for (const w of info.workers) {
      try {
        const sess = await cliCommand(this.o.masterSocket, `@!${w.pid} show sess`, 2000);
        total += sess.split('\n').filter((l) => l.startsWith('0x') && !l.includes('proto=sockpair')).length;
      } catch {
        return 1;
      }
    }
    return total;
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
