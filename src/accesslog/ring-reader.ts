// Every access log line is in a worker's ring (render/access-log.ts), written there by a copy in memory: HAProxy makes
// no system call per request for its log. Portico reads each worker's ring as it fills, over one runtime API session
// per worker that first says which worker it is (`show info`, its Pid) and then streams the ring (`show events <ring>
// -w`): every line the ring holds, then each new one as HAProxy writes it, batched as the worker's event loop runs
// (about 30 lines a read under load). The runtime API socket reaches the current worker only; a worker replaced by a
// reload keeps the session it has, and Portico ends it (a half-close: HAProxy sends what is left, then closes) once that
// worker holds no connection any more, since an open session would keep the worker alive. docs/architecture.md, "The
// access log", has the measurements and the options rejected.
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { cliCommand, parseShowProc } from '../haproxy/process/master-cli.js';
import type { AccessLog } from './access-log.js';

export interface RingReaderOptions {
  /** The runtime API socket (the current worker's). */
  runtimeSocket: string;
  /** The master CLI: which workers there are, and whether a replaced one still serves. */
  masterSocket: string;
  ring: string;
  log: AccessLog;
  /** How often the workers are looked at (a reload is noticed within this); default 250 ms. */
  intervalMs?: number;
  /** True while what was read waits to be written (standard output behind): reading pauses, and the lines wait in
   * HAProxy's rings instead, until `resume()`. A slow standard output then costs lines only once the rings are full,
   * and they are counted there; reading on meanwhile would only fill Portico's memory and drop them there. */
  backlogged?: () => boolean;
}

/** `show info` before the stream: its answer ends with an empty line. Longer than this is not HAProxy's. */
const HEADER_MAX = 64 << 10;

interface Session {
  sock: Socket;
  /** The worker, once its `show info` was read. */
  pid: number | undefined;
  ending: boolean;
  closed: Promise<void>;
}

export class AccessLogRingReader {
  private readonly sessions = new Set<Session>();
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  /** The current worker at the last look. */
  private current: number | undefined;
  /** Sessions opened (one per worker, and again after a session was lost). */
  connects = 0;

  constructor(private readonly o: RingReaderOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 250);
    this.timer.unref();
    void this.check();
  }

  /** Reading goes on after a pause for `backlogged`. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.sessions) s.sock.resume();
  }

  private pauseIfBacklogged(): void {
    if (this.paused || this.o.backlogged?.() !== true) return;
    this.paused = true;
    for (const s of this.sessions) s.sock.pause();
  }

  /** Ends every session at once (Portico exits; what HAProxy sent until now is read). */
  stop(): void {
    clearInterval(this.timer);
    for (const s of this.sessions) s.sock.destroy();
  }

  /**
   * Shutdown, once no request is in flight: every session is half-closed, so that each worker sends the lines it has
   * left and then lets its session go (the workers can then exit), and this waits for them, at most `timeoutMs`.
   */
  async drain(timeoutMs: number): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    // A paused session would never see its end: the last lines are read whatever waits for standard output (its
    // queue's cap still bounds Portico's memory).
    this.resume();
    // A worker started moments ago may have no session yet, and a stopping one takes no new session (its runtime API
    // socket is closed): its lines are read in one piece through the master CLI, which every worker keeps answering.
    try {
      const workers = parseShowProc(await cliCommand(this.o.masterSocket, 'show proc', 2000)).workers;
      for (const w of workers.filter((w) => ![...this.sessions].some((s) => s.pid === w.pid))) {
        const lines = await cliCommand(this.o.masterSocket, `@!${w.pid} show events ${this.o.ring}`, timeoutMs);
        this.o.log.reader()(lines.endsWith('\n') ? lines : `${lines}\n`);
      }
    } catch {
      // HAProxy already gone: what its sessions delivered is all there is.
    }
    for (const s of this.sessions) this.end(s);
    await Promise.race([Promise.all([...this.sessions].map((s) => s.closed)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    for (const s of this.sessions) s.sock.destroy();
  }

  /**
   * Once HAProxy started a worker: a session on it, at most `timeoutMs` from now. The supervisor awaits this before a
   * start or reload counts as done, so that no next reload replaces a worker nobody reads (a replaced worker takes no
   * new session, and would exit with its ring as soon as it served nothing).
   */
  async attach(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.check();
      if ([...this.sessions].some((s) => s.pid !== undefined && s.pid === this.current)) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** One look at the workers: a session for the current one, and the end of those of replaced workers done serving. */
  check(): Promise<void> {
    this.checking ??= this.look().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async look(): Promise<void> {
    try {
      const proc = parseShowProc(await cliCommand(this.o.masterSocket, 'show proc', 2000));
      const current = proc.workers.find((w) => !w.old)?.pid;
      this.current = current;
      const known = [...this.sessions];
      // A session whose worker is not known yet may be connecting to the current one: no second one meanwhile.
      if (current !== undefined && !known.some((s) => !s.ending && (s.pid === current || s.pid === undefined))) this.open();
      for (const s of known) {
        if (s.ending || s.pid === undefined || s.pid === current) continue;
        if (await this.servesNothing(s.pid)) this.end(s);
      }
    } catch {
      // HAProxy starting, reloading or restarting: the next look asks again (a worker that is gone closed its session).
    }
  }

  /** A replaced worker with no connection left can write no more lines: its session may end. */
  private async servesNothing(pid: number): Promise<boolean> {
    const info = await cliCommand(this.o.masterSocket, `@!${pid} show info`, 2000);
    return /^Stopping: 1$/m.test(info) && /^CurrConns: 0$/m.test(info);
  }

  private end(s: Session): void {
    if (s.ending) return;
    s.ending = true;
    s.sock.end();
  }

  private open(): void {
    const sock = createConnection(this.o.runtimeSocket);
    let onClose: () => void = () => undefined;
    const s: Session = { sock, pid: undefined, ending: false, closed: new Promise<void>((r) => (onClose = r)) };
    this.sessions.add(s);
    this.connects++;
    sock.setEncoding('utf8');
    const read = this.o.log.reader();
    let header = '';
    if (this.paused) sock.pause();
    sock.on('data', (chunk: string) => {
      if (s.pid !== undefined) {
        read(chunk);
        return this.pauseIfBacklogged();
      }
      header += chunk;
      const end = header.indexOf('\n\n');
      if (end < 0) {
        if (header.length > HEADER_MAX) sock.destroy();
        return;
      }
      const pid = /^Pid: (\d+)$/m.exec(header.slice(0, end));
      if (!pid) return void sock.destroy();
      s.pid = Number(pid[1]);
      read(header.slice(end + 2));
      header = '';
      this.pauseIfBacklogged();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.sessions.delete(s);
      onClose();
    });
    sock.write(`show info;show events ${this.o.ring} -w\n`);
  }
}
