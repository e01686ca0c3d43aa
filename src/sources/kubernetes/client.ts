// A small Kubernetes API client on node:http(s): JSON requests and streamed watches. Nothing more is needed, and
// owning it means hung watches, 410s and token rotation are handled the way this controller needs.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ClusterConfig } from './config.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

const TOKEN_REREAD_MS = 60_000;

export class KubeClient {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly url: URL;
  private token: string | undefined;
  private tokenReadAt = 0;

  constructor(private readonly cfg: ClusterConfig) {
    this.url = new URL(cfg.server);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, ca: cfg.ca, cert: cfg.clientCert, key: cfg.clientKey, rejectUnauthorized: !cfg.insecureSkipTlsVerify })
      : new HttpAgent({ keepAlive: true });
  }

  get namespace(): string | undefined {
    return this.cfg.namespace;
  }

  /** Tokens are re-read from their file every minute and after a 401: projected tokens rotate hourly. */
  private bearer(force = false): string | undefined {
    if (this.cfg.token) return this.cfg.token;
    if (!this.cfg.tokenFile) return undefined;
    if (force || !this.token || Date.now() - this.tokenReadAt > TOKEN_REREAD_MS) {
      try {
        this.token = readFileSync(this.cfg.tokenFile, 'utf8').trim();
        this.tokenReadAt = Date.now();
      } catch {
        /* keep the previous token; the API will say 401 if it is stale */
      }
    }
    return this.token;
  }

  private open(method: string, path: string, headers: Record<string, string>, timeoutMs: number, body?: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(path, this.url);
      const token = this.bearer();
      const req = (this.url.protocol === 'https:' ? httpsRequest : httpRequest)(
        u,
        {
          method,
          agent: this.agent,
          headers: { accept: 'application/json', 'user-agent': 'portico/0.1', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
          timeout: timeoutMs,
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${u.pathname}: no response within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': o.contentType ?? 'application/json' };
    const res = await this.open(method, path, headers, o.timeoutMs ?? 30_000, body);
    const text = await readAll(res);
    if (res.statusCode === 401) this.bearer(true);
    if (!res.statusCode || res.statusCode >= 300) throw toApiError(res.statusCode ?? 0, text, `${method} ${path}`);
    return JSON.parse(text) as T;
  }

  /**
   * A watch: calls `onEvent` for each JSON line until the server ends the stream (resolves) or the connection fails
   * (rejects). `stallMs` bounds the silence between two lines: a watch that hangs without closing is cut.
   */
  async watch(path: string, onEvent: (e: unknown) => void, stallMs: number, signal: AbortSignal): Promise<void> {
    const res = await this.open('GET', path, {}, stallMs);
    if (res.statusCode === 401) this.bearer(true);
    if (res.statusCode !== 200) throw toApiError(res.statusCode ?? 0, await readAll(res), `watch ${path}`);
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      let timer = setTimeout(stalled, stallMs);
      function stalled(): void {
        res.destroy(new Error(`watch ${path}: silent for ${stallMs} ms`));
      }
      const onAbort = (): void => {
        res.destroy(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort(); // aborted while the request was being opened
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        clearTimeout(timer);
        timer = setTimeout(stalled, stallMs);
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '') continue;
          try {
            onEvent(JSON.parse(line));
          } catch (e) {
            res.destroy(e as Error);
            return;
          }
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(e);
      });
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.complete) reject(new Error(`watch ${path}: connection closed mid-stream`));
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toApiError(status: number, text: string, what: string): ApiError {
  let reason = '';
  let message = text.slice(0, 500);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch {
    /* not a Status object */
  }
  return new ApiError(status, reason, `${what}: HTTP ${status} ${reason}: ${message}`);
}
