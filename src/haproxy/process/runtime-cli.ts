// A persistent session on HAProxy's runtime API in interactive (`prompt`) mode: one connection carries a whole
// batch of runtime changes, where one connection per command would cost a connect and a fork of the CLI applet each.
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';

const PROMPT = '\n> ';

export class RuntimeCli {
  private buffer = '';
  private waiter: { resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.settle();
    });
    const fail = (e: Error): void => {
      this.failure = e;
      this.waiter?.reject(e);
      this.waiter = undefined;
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('HAProxy closed the runtime API connection')));
  }

  static async open(socketPath: string, timeoutMs = 5000): Promise<RuntimeCli> {
    const sock = createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const cli = new RuntimeCli(sock);
    await cli.command('prompt', timeoutMs);
    return cli;
  }

  private settle(): void {
    if (!this.waiter || !this.buffer.endsWith(PROMPT)) return;
    const out = this.buffer.slice(0, -PROMPT.length);
    this.buffer = '';
    this.waiter.resolve(out);
    this.waiter = undefined;
  }

  /**
   * Sends one command (with an optional payload, which must not contain an empty line) and returns its answer
   * without the prompt. The continuation prompts HAProxy echoes for payload lines are dropped.
   */
  command(command: string, timeoutMs = 5000, payload?: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const text = payload === undefined ? `${command}\n` : `${command} <<\n${payload.endsWith('\n') ? payload : `${payload}\n`}\n`;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`HAProxy runtime API: no answer to "${command}" within ${timeoutMs} ms`));
        this.sock.destroy();
      }, timeoutMs);
      this.waiter = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(payload === undefined ? s : s.replace(/^(\+ )+/, ''));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.sock.write(text);
    });
  }

  close(): void {
    this.sock.end('quit\n');
  }
}

/** Quotes one argument of a runtime API command: the CLI splits commands on `;` and unescapes `\`. */
export function cliArg(s: string): string {
  if (/[\s]/.test(s)) throw new Error(`runtime API argument ${JSON.stringify(s)} contains whitespace`);
  return s.replace(/[\\;]/g, (c) => `\\${c}`);
}
