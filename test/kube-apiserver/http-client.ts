// A tiny client for tests that talk to the stand-in server directly: one request, or a watch read line by line,
// telling a clean end of the chunked body from a cut connection (which is what watch fault tests are about).
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Target {
  url: string;
  caPem: string;
}

export interface CallOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  token?: string;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

function open(target: Target, method: string, path: string, o: CallOptions): Promise<IncomingMessage> {
  const u = new URL(path, target.url);
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: Record<string, string> = { accept: o.accept ?? 'application/json', 'user-agent': 'kube-apiserver-selftest' };
  if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method, headers, agent: false, ...(u.protocol === 'https:' ? { ca: target.caPem } : {}) }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

export async function call(target: Target, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const res = await open(target, method, path, o);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode ?? 0, headers: res.headers, text, json };
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown> & { metadata?: Record<string, unknown> };
}

/** A watch being read: events as they arrive, and how the stream ended. */
export class WatchReader {
  readonly events: WatchEvent[] = [];
  /** `clean`: the chunked body ended properly; `cut`: the connection went away mid-stream. */
  ended: 'clean' | 'cut' | undefined;
  private waiters: (() => void)[] = [];
  readonly status: number;

  private constructor(private readonly res: IncomingMessage) {
    this.status = res.statusCode ?? 0;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.events.push(JSON.parse(line) as WatchEvent);
      }
      this.wake();
    });
    res.on('end', () => {
      this.ended ??= 'clean';
      this.wake();
    });
    res.on('error', () => {
      this.ended ??= 'cut';
      this.wake();
    });
    res.on('close', () => {
      if (!res.complete) this.ended ??= 'cut';
      this.wake();
    });
  }

  static async open(target: Target, path: string, o: CallOptions = {}): Promise<WatchReader> {
    return new WatchReader(await open(target, 'GET', path, o));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `cond` holds, rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`watch: timed out waiting for ${what}; events so far: ${JSON.stringify(this.events.map((e) => e.type))}, ended: ${String(this.ended)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Events other than bookmarks. */
  changes(): WatchEvent[] {
    return this.events.filter((e) => e.type !== 'BOOKMARK');
  }

  close(): void {
    this.res.destroy();
  }
}
