// A stand-in for oauth2-proxy as the ingress-nginx external-auth setup uses it: `/oauth2/auth` answers 200 with
// X-Auth-Request-User and -Email for a valid session cookie and 401 otherwise; `/oauth2/start?rd=...` redirects to
// the provider. It records every request it gets, so tests can check what the auth request carried. Session cookies
// (`_oauth2_proxy=<value>`) say what the stand-in does:
// - `valid-<user>`: 200 with the user's headers;
// - `refresh-<user>`: 200, and Set-Cookie with a renewed session (two cookies, as oauth2-proxy splits large ones);
// - `forbidden`: 403; `broken`: 502; `slow`: answers 200 after 1.5 s;
// - anything else, or none: 401 with `WWW-Authenticate: Bearer realm="stand-in"`.
import http from 'node:http';
import type { IncomingMessage } from 'node:http';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Bytes of body received. */
  bodyBytes: number;
}

export interface OAuth2Proxy {
  ip: string;
  port: number;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export const PROVIDER = 'https://provider.example/authorize';

function session(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === '_oauth2_proxy') return v.join('=');
  }
  return undefined;
}

export async function startOAuth2Proxy(ip: string, port: number): Promise<OAuth2Proxy> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (d: Buffer) => (bodyBytes += d.length));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
      if (url.pathname === '/oauth2/start') {
        res.writeHead(302, { location: `${PROVIDER}?state=${encodeURIComponent(url.searchParams.get('rd') ?? '')}` }).end();
        return;
      }
      if (url.pathname !== '/oauth2/auth') {
        res.writeHead(404).end();
        return;
      }
      const s = session(req.headers.cookie);
      const user = s?.match(/^(valid|refresh)-([a-z]+)$/);
      const answer = (): void => {
        if (user) {
          const headers: [string, string][] = [
            ['x-auth-request-user', user[2]!],
            ['x-auth-request-email', `${user[2]!}@example.com`],
          ];
          if (user[1] === 'refresh') headers.push(['set-cookie', `_oauth2_proxy_0=renewed-${user[2]!}; Path=/; HttpOnly`], ['set-cookie', `_oauth2_proxy_1=part2; Path=/; HttpOnly`]);
          res.writeHead(202, headers.flat()).end('accepted');
        } else if (s === 'forbidden') res.writeHead(403).end();
        else if (s === 'broken') res.writeHead(502).end();
        else res.writeHead(401, { 'www-authenticate': 'Bearer realm="stand-in"' }).end('unauthorized');
      };
      if (s === 'slow') setTimeout(() => res.writeHead(200).end(), 1500);
      else answer();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, resolve);
  });
  return {
    ip,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
