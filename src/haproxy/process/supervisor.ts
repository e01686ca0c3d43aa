// Owns the HAProxy master process: start, check, hitless reload, graceful stop, restart when it dies, and the truth
// about whether it serves (readiness).
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log.js';
import { BODY_REFUSED_MESSAGE } from '../render/body-limit.js';
import { cliCommand, parseShowProc } from './master-cli.js';
import type { ProcInfo } from './master-cli.js';
import { parentDeathPrefix } from './parent-death.js';

export interface SupervisorOptions {
  bin: string;
  /** Stable path of the live configuration: the master re-reads it on every reload and restart. */
  configPath: string;
  masterSocket: string;
  /** Ports that must accept connections before the data plane counts as ready, and the address to probe them on. */
  probePorts: number[];
  probeHost: string;
  /** Unix sockets of listeners the running configuration has besides the ports (ssl-passthrough's hop to the
   * terminating frontend), asked again at each check: a client reaches them only through a port, whose probe alone
   * would not notice one gone. */
  probeSockets?: () => string[];
  /** HAProxy writes its master's pid here, so that a master orphaned by a crashed Portico can be stopped. */
  pidFile: string;
  log: Logger;
  /** HAProxy died unexpectedly; a restart follows. */
  onRestart?: (reason: string) => void;
  /** One attempt to restart HAProxy failed; it is retried. */
  onRestartFailure?: (reason: string) => void;
  /** HAProxy started, or stopped, accepting connections on every listener. */
  onServingChange?: (serving: boolean, reason: string) => void;
  /** How often a running HAProxy is checked (master CLI and a TCP connect to each listener). */
  healthIntervalMs?: number;
  /** On shutdown, once no request is in flight, before HAProxy is stopped: what must still be read from its workers
   * (the access log's last lines; the runtime API sessions reading them would otherwise hold the workers). Bounded
   * by the caller. */
  beforeStop?: () => Promise<void>;
  /** A worker started (a start, a restart, a reload): awaited before that counts as done, so that what reads each
   * worker (the access log's ring reader) holds on to it before a next reload can replace it. Bounded by the caller. */
  onNewWorker?: () => Promise<void>;
}

export class HaproxyError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

const RESTART_DELAYS_MS = [100, 250, 500, 1000, 2000];
/** A worker whose master died normally exits within milliseconds (it watches a pipe to the master). */
const ORPHAN_WORKER_GRACE_MS = 2000;
/** How long a reload waits for the old workers to stop accepting (see untilOldWorkersStopAccepting). */
const OLD_WORKER_STOP_WAIT_MS = 2000;
const PROBE_TIMEOUT_MS = 2000;
/** A failed health check is repeated after this long before HAProxy counts as not serving: one refused connect
 * (a full accept queue, a worker being replaced) is not an outage. */
const RECHECK_DELAY_MS = 250;

export class HaproxySupervisor {
  private proc: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private recentOutput: string[] = [];
  private serving = false;
  private reloading = false;
  private checking = false;
  private healthTimer: NodeJS.Timeout | undefined;
  /** The workers of the last `show proc` (at most a second old): after the master dies, they must be gone before a
   * new master binds. */
  private workerPids = new Set<number>();
  private prefix: Promise<string[] | undefined> | undefined;
  /** From the unexpected death of a master that had served until its successor serves. */
  private recovering = false;
  /** Runs before HAProxy is restarted after it died: the configuration on disk may need bringing up to date. It
   * must leave a complete configuration in place even when it fails. */
  beforeRestart: (() => Promise<void>) | undefined;
  /** Runs after a restart succeeded: what HAProxy read from disk may lag behind the live model. */
  afterRestart: (() => Promise<void>) | undefined;
  /**
   * Runs each restart attempt (beforeRestart, the start, afterRestart) as one step of the owner's queue: a change
   * applied in the middle would meet no HAProxy, or one that has not been brought up to date yet.
   */
  serialize: (<T>(fn: () => Promise<T>) => Promise<T>) | undefined;

  constructor(private readonly o: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** True while a master runs with a current worker and every listener accepts connections. */
  get isServing(): boolean {
    return this.serving;
  }

  /** HAProxy died and is being restarted: there is no runtime API to apply changes through until it is back. */
  get isRecovering(): boolean {
    return this.recovering;
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

  /**
   * An HAProxy started by an earlier Portico with this state directory, and still running (a Portico older than the
   * parent-death signal, or one killed in the instant between fork and exec): stop it before starting ours.
   */
  async stopOrphan(): Promise<void> {
    const pid = Number((await readFile(this.o.pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1 || pid === this.proc?.pid) return;
    if (!(await this.isOurHaproxy(pid))) return;
    this.o.log.warn({ component: 'supervisor', pid }, 'stopping an HAProxy left behind by a previous Portico');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && (await this.isOurHaproxy(pid)); i++) await sleep(20);
  }

  /** A pid may have been reused: only a process running our configuration file is ours to signal. */
  private async isOurHaproxy(pid: number): Promise<boolean> {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return cmdline.split('\0').includes(this.o.configPath);
  }

  private async spawnMaster(): Promise<void> {
    this.prefix ??= parentDeathPrefix().then((p) => {
      if (!p) this.o.log.warn({ component: 'supervisor' }, 'setpriv with --pdeathsig is not installed (util-linux): an HAProxy started now would outlive a Portico killed with SIGKILL');
      return p;
    });
    const prefix = (await this.prefix) ?? [];
    const args = ['-W', '-db', '-f', this.o.configPath, '-S', `${this.o.masterSocket},mode,600`, '-p', this.o.pidFile];
    const [cmd, ...rest] = [...prefix, this.o.bin, ...args];
    const proc = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.recentOutput = [];
    const onLine = (buf: Buffer): void => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.recentOutput.push(line);
        if (this.recentOutput.length > 50) this.recentOutput.shift();
        // A worker retiring after a reload reports every backend it stops: thousands of lines that say nothing new.
        // Nor does the body-limit filter's refusal of each too-large streamed body (a 413 the client sees; a client
        // could otherwise fill the log at its connection rate).
        const routine = /: (Proxy \S+ stopped|Stopping (backend|frontend|proxy) )/.test(line) || line.includes(BODY_REFUSED_MESSAGE);
        const level = routine ? 'debug' : /\[(ALERT|EMERG)\]/.test(line) ? 'error' : /\[WARNING\]/.test(line) ? 'warn' : 'debug';
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
      this.stopHealthChecks();
      if (this.stopping) return;
      const reason = `HAProxy master ${proc.pid} exited unexpectedly (code ${code}, signal ${signal}): ${this.recentOutput.slice(-3).join(' | ')}`;
      this.setServing(false, reason);
      if (!served) return; // a failed start is reported to whoever started it
      this.o.log.error({ component: 'supervisor' }, reason);
      this.recovering = true;
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
    ]).catch((e: unknown) => {
      // Never leave a half-started master behind (one that is up but not serving in time).
      if (this.proc === proc && proc.exitCode === null) {
        this.proc = undefined;
        proc.kill('SIGKILL');
      }
      throw e;
    });
    served = true;
    await this.o.onNewWorker?.().catch(() => undefined);
    this.setServing(true, 'HAProxy is accepting connections');
    this.startHealthChecks();
  }

  private async restartLoop(): Promise<void> {
    const serialize = this.serialize ?? (<T>(fn: () => Promise<T>) => fn());
    for (let attempt = 0; !this.stopping; attempt++) {
      await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]);
      if (this.stopping || this.startedElsewhere()) return;
      await this.reapOrphanWorkers();
      try {
        await serialize(() => this.restartOnce());
        return;
      } catch (e) {
        const output = e instanceof HaproxyError && e.output ? e.output.split('\n').slice(-5).join(' | ') : '';
        const reason = `${(e as Error).message}${output ? `: ${output}` : ''}`;
        this.o.onRestartFailure?.(reason);
        this.o.log.error({ component: 'supervisor', err: reason, attempt: attempt + 1 }, 'HAProxy restart failed; retrying');
      }
    }
  }

  /** A master runs that this restart did not start: nothing is left to recover. */
  private startedElsewhere(): boolean {
    if (this.proc) this.recovering = false;
    return this.proc !== undefined;
  }

  /** One attempt: throws when HAProxy does not start. */
  private async restartOnce(): Promise<void> {
    try {
      await this.beforeRestart?.();
    } catch (e) {
      // The configuration on disk is the last complete one: starting from it beats not starting at all.
      this.o.log.error({ component: 'supervisor', err: (e as Error).message }, 'could not bring the configuration on disk up to date before the restart; restarting from the one there');
    }
    if (this.stopping || this.startedElsewhere()) return;
    await this.spawnMaster();
    // Cleared only once a master serves again (or on stop), never when a restart loop ends: HAProxy may die again
    // during the catch-up below, and must then stay "recovering" for the next restart.
    this.recovering = false;
    this.restarts++;
    this.o.log.warn({ component: 'supervisor', restarts: this.restarts }, 'HAProxy restarted with the last good configuration');
    try {
      await this.afterRestart?.();
    } catch (e) {
      this.o.log.error({ component: 'supervisor', err: (e as Error).message }, 'could not bring the restarted HAProxy up to date');
    }
  }

  /**
   * Workers of a dead master exit on their own within milliseconds; one that does not would keep serving a stale
   * configuration and hold the ports (the configuration says `noreuseport`, so a new master could not bind).
   */
  private async reapOrphanWorkers(): Promise<void> {
    const deadline = Date.now() + ORPHAN_WORKER_GRACE_MS;
    for (;;) {
      const alive: number[] = [];
      for (const pid of this.workerPids) if (await this.isOurHaproxy(pid)) alive.push(pid);
      if (alive.length === 0) break;
      if (Date.now() >= deadline) {
        this.o.log.warn({ component: 'supervisor', pids: alive }, 'workers of the dead HAProxy master are still running; killing them');
        for (const pid of alive) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        break;
      }
      await sleep(20);
    }
    this.workerPids.clear();
  }

  private setServing(serving: boolean, reason: string): void {
    if (this.serving === serving) return;
    this.serving = serving;
    this.o.onServingChange?.(serving, reason);
  }

  private startHealthChecks(): void {
    this.stopHealthChecks();
    this.healthTimer = setInterval(() => void this.healthCheck(), this.o.healthIntervalMs ?? 1000);
    this.healthTimer.unref();
  }

  private stopHealthChecks(): void {
    clearInterval(this.healthTimer);
    this.healthTimer = undefined;
  }

  /** The master's own exit is seen at once; this catches the rest: no current worker, listeners refusing. */
  private async healthCheck(): Promise<void> {
    if (this.checking || this.reloading || this.stopping || !this.proc) return;
    this.checking = true;
    try {
      let problem = await this.servingProblem();
      if (problem) {
        await sleep(RECHECK_DELAY_MS);
        if (this.reloading || this.stopping || !this.proc) return;
        problem = await this.servingProblem();
      }
      if (this.reloading || this.stopping || !this.proc) return;
      this.setServing(problem === undefined, problem ?? 'HAProxy is accepting connections again');
    } finally {
      this.checking = false;
    }
  }

  /** Why HAProxy does not serve right now, or undefined when it does. */
  private async servingProblem(): Promise<string | undefined> {
    const info = await this.showProc();
    if (!info) return 'the HAProxy master does not answer on its CLI';
    if (!info.workers.some((w) => w.reloads === 0)) return 'HAProxy has no current worker';
    for (const port of this.o.probePorts) if (!(await canConnect(this.o.probeHost, port))) return `HAProxy does not accept connections on ${this.o.probeHost}:${port}`;
    for (const path of this.o.probeSockets?.() ?? []) if (!(await canConnect(path))) return `HAProxy does not accept connections on ${path}`;
    return undefined;
  }

  private async showProc(): Promise<ReturnType<typeof parseShowProc> | undefined> {
    try {
      const info = parseShowProc(await cliCommand(this.o.masterSocket, 'show proc', 2000));
      this.workerPids = new Set(info.workers.map((w) => w.pid));
      return info;
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
    // The master re-executes itself: its CLI goes away for a moment, which the health check must not call an outage.
    this.reloading = true;
    try {
      process.kill(proc.pid, 'SIGUSR2');
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        await sleep(10);
        const now = await this.showProc();
        if (!now) continue;
        if (now.failedReloads > before.failedReloads) throw new HaproxyError('HAProxy rejected the new configuration', this.recentOutput.join('\n'));
        if (now.masterReloads > before.masterReloads && now.workers.some((w) => w.reloads === 0)) {
          await this.untilOldWorkersStopAccepting(now, Math.min(deadline, Date.now() + OLD_WORKER_STOP_WAIT_MS), proc);
          await this.o.onNewWorker?.().catch(() => undefined);
          return;
        }
      }
      throw new HaproxyError('HAProxy did not finish reloading in time', this.recentOutput.join('\n'));
    } finally {
      this.reloading = false;
    }
  }

  /**
   * The master tells the old workers to stop accepting (SIGUSR1) once the new one is ready, and each acts on it in its
   * own event loop: until then the old and the new worker accept on the same sockets, and a connection opened after
   * the reload was reported done could still meet the old configuration (the likely cause of one CI failure on a
   * loaded machine). An old worker that says `Stopping: 1`, or is gone, accepts no more. Bounded: past the deadline
   * the reload stands as it is.
   */
  private async untilOldWorkersStopAccepting(info: ProcInfo, deadline: number, master: ChildProcess): Promise<void> {
    let accepting = info.workers.filter((w) => w.old).map((w) => w.pid);
    while (accepting.length > 0 && Date.now() < deadline) {
      // The master died after the new worker started: its workers follow it (they watch the master), and the restart
      // reads the configuration this reload installed. Nothing is left to wait for.
      if (this.proc !== master || master.exitCode !== null || master.signalCode !== null) return;
      // An unanswered question counts as still accepting; a worker gone answers nothing of the kind.
      const timeoutMs = Math.max(1, Math.min(1000, deadline - Date.now()));
      const answers = await Promise.all(accepting.map((pid) => cliCommand(this.o.masterSocket, `@!${pid} show info`, timeoutMs).catch(() => 'Stopping: 0')));
      accepting = accepting.filter((_, i) => /^Stopping: 0$/m.test(answers[i]!));
      if (accepting.length > 0) await sleep(5);
    }
  }

  /**
   * Soft stop (SIGUSR1): listeners close at once and in-flight requests finish. Idle keep-alive connections would
   * otherwise hold a worker until their timeout (`idle-close-on-response` keeps them open for reloads), so once no
   * request is in flight anywhere, HAProxy is stopped; after `graceMs` it is stopped regardless.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.recovering = false;
    this.stopHealthChecks();
    this.setServing(false, 'shutting down');
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
      await this.o.beforeStop?.().catch(() => undefined);
    }
    if (!exited) {
      proc.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(3000).then(() => false)]);
      if (!killed) proc.kill('SIGKILL');
      await exit;
    }
    this.proc = undefined;
  }

  /** Streams (requests, WebSockets) alive in any worker; idle keep-alive connections have none, nor do runtime API
   * sessions (frontend GLOBAL: the access log's readers, this question itself). Unknown = 1. */
  private async requestsInFlight(): Promise<number> {
    const info = await this.showProc();
    if (!info) return 1;
    let total = 0;
    for (const w of info.workers) {
      try {
        const sess = await cliCommand(this.o.masterSocket, `@!${w.pid} show sess`, 2000);
        total += sess.split('\n').filter((l) => l.startsWith('0x') && !l.includes('proto=sockpair') && !l.includes(' fe=GLOBAL ')).length;
      } catch {
        return 1;
      }
    }
    return total;
  }
}

/** A TCP connection to host:port, or to a unix socket when only a path is given. */
function canConnect(host: string, port?: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = port === undefined ? connect({ path: host }) : connect({ port, host });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
