// The access log through real HAProxy: each request makes exactly one JSON line on Portico's standard output, with
// the Service and endpoint that served it and the request id its pod received; hostile Host, path and User-Agent
// stay inside their fields; enable-access-log "false" silences one Ingress only, and changing it is no reload; a
// burst loses no line, nor does a stalled Portico while the ring holds what came meanwhile (beyond, the newest lines
// are lost and counted); a reload and a shutdown lose none; `--access-log off` writes none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawRequest } from './harness/raw.js';
import { cliCommand, parseShowProc } from '../../src/haproxy/process/master-cli.js';
import { configMap, docs, httpGet, httpsGet, ingress, manifestDir, reloadCount, singlePodApp, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, LogLine, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const route = (name: string, host: string, service: string, quiet = false): string =>
  ingress({ name, ...(quiet ? { annotations: { [`${P}enable-access-log`]: 'false' } } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service, port: 80 }] }] });

const accessLines = (p: Portico): LogLine[] => p.logs.entries.filter((e) => e.component === 'access');
/** Access lines whose request id is `id`. */
const linesOf = (p: Portico, id: string): LogLine[] => accessLines(p).filter((e) => e.requestId === id);
async function lineOf(p: Portico, id: string): Promise<LogLine> {
  await waitFor(() => Promise.resolve(linesOf(p, id).length > 0), { timeoutMs: 5000, message: `no access line for ${id}` });
  await new Promise((r) => setTimeout(r, 100));
  const lines = linesOf(p, id);
  assert.equal(lines.length, 1, `exactly one line for ${id}`);
  return lines[0]!;
}
const SETTINGS = { 'use-forwarded-headers': 'true', 'proxy-real-ip-cidr': '127.0.0.0/8' };
const settings = (over: Record<string, string> = {}): string => configMap({ ns: 'portico', name: 'settings', data: { ...SETTINGS, ...over } });
let n = 0;
const rid = (): string => `req-${process.pid}-${++n}`;

before(async () => {
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', docs(await singlePodApp(pods, 'loud', '127.0.65.1'), await singlePodApp(pods, 'quiet', '127.0.65.2')));
  await writeManifest(dir, 'routes.yaml', docs(route('loud', 'loud.test', 'loud'), route('quiet', 'quiet.test', 'quiet', true)));
  await writeManifest(dir, 'settings.yaml', settings());
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('access log', () => {
  test('one JSON line per request with status, host, path, Service, endpoint and the request id the pod received', async () => {
    const r = await httpGet(portico.httpPort, { host: 'loud.test', path: '/a/b?x=1', headers: { 'user-agent': 'probe/1' } });
    assert.equal(r.status, 200);
    const seen = r.json<EchoReply>();
    const id = seen.headers['x-request-id'];
    assert.ok(typeof id === 'string' && /^[0-9a-f]{32}$/.test(id), 'Portico made the request id');
    const line = await lineOf(portico, id);
    assert.equal(line.status, 200);
    assert.equal(line.host, 'loud.test');
    assert.equal(line.path, '/a/b');
    assert.equal(line.query, 'x=1');
    assert.equal(line.method, 'GET');
    assert.equal(line.protocol, 'HTTP/1.1');
    assert.equal(line.scheme, 'http');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.service, 'default/loud:80');
    assert.equal(line.endpoint, '127.0.65.1:3000');
    assert.equal(line.userAgent, 'probe/1');
    assert.equal(line.termination, '----');
    assert.ok(typeof line.totalMs === 'number' && line.totalMs >= 0);
    assert.ok(typeof line.bytesOut === 'number' && line.bytesOut > 0);
  });

  test('HTTPS: TLS version and SNI; a client X-Request-ID is kept', async () => {
    const id = rid();
    const r = await httpsGet(portico.httpsPort, { host: 'loud.test', servername: 'loud.test', path: '/tls', headers: { 'x-request-id': id } });
    assert.equal(r.status, 200);
    assert.equal(r.json<EchoReply>().headers['x-request-id'], id);
    const line = await lineOf(portico, id);
    assert.equal(line.scheme, 'https');
    assert.equal(line.sni, 'loud.test');
    assert.match(String(line.tlsVersion), /^TLSv1\.[23]$/);
  });

  test('hostile Host, path and User-Agent stay inside their JSON fields', async () => {
    const id = rid();
    // HAProxy answers 400 to a backslash in the path and to control characters other than tab in a header; quotes,
    // braces and backslashes in headers reach the log.
    const ua = 'x", "status": 999, "injected": "\\\t}{';
    const path = '/p",x"status":1}{';
    const r = await rawRequest(portico.httpPort, [`GET ${path}?a="b" HTTP/1.1`, 'Host: loud.test', `User-Agent: ${ua}`, `X-Request-ID: ${id}`]);
    assert.equal(r.status, 200);
    const line = await lineOf(portico, id);
    assert.equal(line.userAgent, ua);
    assert.equal(line.path, path);
    assert.equal(line.query, 'a="b"');
    assert.equal(line.status, 200);
    assert.equal(line.injected, undefined);
  });

  test("a Host no route has: logged only with enable-access-log-for-default-backend, inside its field; a URI of skip-access-log-urls is not logged", async () => {
    const hostile = 'a"b\\c{}",x.test';
    const noLog = rid();
    assert.equal((await rawRequest(portico.httpPort, ['GET / HTTP/1.1', `Host: ${hostile}`, `X-Request-ID: ${noLog}`])).status, 404);
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'settings.yaml', settings({ 'enable-access-log-for-default-backend': 'true', 'skip-access-log-urls': '/healthz,/skip?x=1' }));
    const id = rid();
    await waitFor(
      async () => {
        await rawRequest(portico.httpPort, ['GET / HTTP/1.1', `Host: ${hostile}`, `X-Request-ID: ${id}`, `User-Agent: ${'u'.repeat(7000)}`]);
        return linesOf(portico, id).length > 0;
      },
      { timeoutMs: 5000, message: 'the default backend never logged' },
    );
    const line = linesOf(portico, id)[0]!;
    assert.equal(line.host, hostile);
    assert.equal(line.status, 404);
    assert.equal(line.route, '');
    assert.equal(String(line.userAgent).length, 256, 'HAProxy captures 256 bytes of User-Agent');
    assert.equal(linesOf(portico, noLog).length, 0);
    const skipped = rid();
    const kept = rid();
    await httpGet(portico.httpPort, { host: 'loud.test', path: '/skip?x=1', headers: { 'x-request-id': skipped } });
    await httpGet(portico.httpPort, { host: 'loud.test', path: '/skip?x=2', headers: { 'x-request-id': kept } });
    await lineOf(portico, kept);
    assert.equal(linesOf(portico, skipped).length, 0);
    assert.equal(await reloadCount(portico.adminPort), reloads, 'the access-log keys are no reload');
    for (const l of portico.logs.lines.filter((x) => x.includes('"component":"access"'))) assert.doesNotThrow(() => JSON.parse(l), l.slice(0, 200));
  });

  test('the client address is the one trusted-proxy handling chose (use-forwarded-headers)', async () => {
    const id = rid();
    await httpGet(portico.httpPort, { host: 'loud.test', path: '/', headers: { 'x-request-id': id, 'x-forwarded-for': '203.0.113.7' } });
    assert.equal((await lineOf(portico, id)).client, '203.0.113.7');
  });

  test('enable-access-log "false" silences that Ingress only; changing it is a map update, not a reload', async () => {
    const quietId = rid();
    const loudId = rid();
    assert.equal((await httpGet(portico.httpPort, { host: 'quiet.test', path: '/', headers: { 'x-request-id': quietId } })).status, 200);
    assert.equal((await httpGet(portico.httpPort, { host: 'loud.test', path: '/', headers: { 'x-request-id': loudId } })).status, 200);
    await lineOf(portico, loudId);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(linesOf(portico, quietId).length, 0, 'the quiet Ingress wrote no line');
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', docs(route('loud', 'loud.test', 'loud'), route('quiet', 'quiet.test', 'quiet', false)));
    const now = rid();
    await waitFor(
      async () => {
        await httpGet(portico.httpPort, { host: 'quiet.test', path: '/', headers: { 'x-request-id': now } });
        return linesOf(portico, now).length > 0;
      },
      { timeoutMs: 5000, message: 'the Ingress never started logging' },
    );
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('a burst of 2,000 requests loses no line', async () => {
    const prefix = `burst-${process.pid}-`;
    const agent = new Agent({ connections: 16, pipelining: 1 });
    try {
      const url = `http://127.0.0.1:${portico.httpPort}`;
      const statuses = await Promise.all(
        Array.from({ length: 2000 }, async (_, i) => {
          const res = await request(`${url}/burst/${i}`, { headers: { host: 'loud.test', 'x-request-id': `${prefix}${i}` }, dispatcher: agent });
          await res.body.dump();
          return res.statusCode;
        }),
      );
      assert.ok(statuses.every((s) => s === 200));
    } finally {
      await agent.close();
    }
    const count = (): number => accessLines(portico).filter((e) => String(e.requestId).startsWith(prefix)).length;
    await waitFor(() => Promise.resolve(count() >= 2000), { timeoutMs: 10_000, message: 'lines are missing' }).catch(() => undefined);
    assert.equal(count(), 2000);
    assert.equal(new Set(accessLines(portico).filter((e) => String(e.requestId).startsWith(prefix)).map((e) => e.requestId)).size, 2000);
  });
});

describe('access log while Portico does not read', () => {
  test('lines written while Portico was stopped wait in the ring: none lost, none twice', async () => {
    const prefix = `stall-${process.pid}-`;
    const pid = portico.proc.pid!;
    const agent = new Agent({ connections: 16, pipelining: 1 });
    // Portico alone is stopped (SIGSTOP): HAProxy, its child, keeps serving, fills the session's socket buffer, and
    // keeps the rest in its ring.
    process.kill(pid, 'SIGSTOP');
    try {
      await Promise.all(
        Array.from({ length: 2000 }, async (_, i) => {
          const res = await request(`http://127.0.0.1:${portico.httpPort}/stall/${i}`, { headers: { host: 'loud.test', 'x-request-id': `${prefix}${i}` }, dispatcher: agent });
          await res.body.dump();
          assert.equal(res.statusCode, 200);
        }),
      );
    } finally {
      process.kill(pid, 'SIGCONT');
      await agent.close();
    }
    const ids = (): string[] => accessLines(portico).map((e) => String(e.requestId)).filter((id) => id.startsWith(prefix));
    await waitFor(() => Promise.resolve(ids().length >= 2000), { timeoutMs: 10_000, message: 'lines are missing' }).catch(() => undefined);
    assert.equal(new Set(ids()).size, 2000);
    assert.equal(ids().length, 2000, 'no line twice');
    const metrics = await (await fetch(`http://127.0.0.1:${portico.adminPort}/metrics`)).text();
    assert.match(metrics, /^portico_access_log_lost_lines_total 0$/m);
  });

  test('with a ring too small for what came meanwhile, the newest lines are lost, counted and reported; the rest are logged', async () => {
    const small = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--configmap', 'portico/settings', '--access-log-buffer', '64k'] });
    try {
      await small.waitReady();
      const prefix = `lost-${process.pid}-`;
      const agent = new Agent({ connections: 8, pipelining: 1 });
      const total = 3000;
      process.kill(small.proc.pid!, 'SIGSTOP');
      try {
        for (let i = 0; i < total; i += 100) {
          await Promise.all(
            Array.from({ length: 100 }, async (_, j) => {
              const res = await request(`http://127.0.0.1:${small.httpPort}/lost/${i + j}`, { headers: { host: 'loud.test', 'x-request-id': `${prefix}${i + j}` }, dispatcher: agent });
              await res.body.dump();
              assert.equal(res.statusCode, 200);
            }),
          );
        }
      } finally {
        process.kill(small.proc.pid!, 'SIGCONT');
        await agent.close();
      }
      // HAProxy notes the lines it dropped in the ring with the next line it keeps: one more request after the
      // stall was read.
      await waitFor(() => Promise.resolve(accessLines(small).some((e) => String(e.requestId).startsWith(prefix))), { timeoutMs: 5000, message: 'no line after the stall' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await httpGet(small.httpPort, { host: 'loud.test', path: '/after', headers: { 'x-request-id': rid() } })).status, 200);
      const lost = async (): Promise<number> => Number(/^portico_access_log_lost_lines_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${small.adminPort}/metrics`)).text())?.[1] ?? NaN);
      const logged = (): number => new Set(accessLines(small).map((e) => String(e.requestId)).filter((id) => id.startsWith(prefix))).size;
      await waitFor(async () => logged() + (await lost()) >= total, { timeoutMs: 10_000, message: 'lines neither logged nor counted lost' });
      const lostCount = await lost();
      assert.ok(lostCount > 0, '64k holds far fewer than 3,000 lines');
      assert.ok(logged() > 0, 'the lines the ring held are logged');
      assert.equal(logged() + lostCount, total, 'every request is logged or counted lost');
      // The oldest lines, those Portico was about to read, are kept: the lost ones are the newest.
      assert.ok(accessLines(small).some((e) => e.requestId === `${prefix}0`));
      await waitFor(() => Promise.resolve(small.logs.entries.some((e) => e.component === 'access-log' && e.level === 40 && typeof e.lostLines === 'number')), { timeoutMs: 5000, message: 'no warning' });
    } finally {
      await small.stop();
    }
  });
});

describe('access log across a reload', () => {
  test('every request served while HAProxy reloads has its line; the replaced worker exits once it serves nothing', async () => {
    const prefix = `reload-${process.pid}-`;
    const before = await reloadCount(portico.adminPort);
    let sent = 0;
    let stop = false;
    const agent = new Agent({ connections: 4 });
    const load = (async () => {
      while (!stop) {
        const res = await request(`http://127.0.0.1:${portico.httpPort}/r`, { headers: { host: 'loud.test', 'x-request-id': `${prefix}${sent}` }, dispatcher: agent });
        await res.body.dump();
        assert.equal(res.statusCode, 200);
        sent++;
      }
    })();
    // A redirect annotation no route had: its rules are not in the running configuration, so this is a reload.
    await writeManifest(dir, 'redirect.yaml', ingress({ name: 'moved', annotations: { [`${P}permanent-redirect`]: 'https://example.com/' }, rules: [{ host: 'moved.test', paths: [{ path: '/', pathType: 'Prefix', service: 'loud', port: 80 }] }] }));
    await waitFor(async () => (await reloadCount(portico.adminPort)) > before, { timeoutMs: 10_000, message: 'no reload' });
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    await agent.close();
    const count = (): number => accessLines(portico).filter((e) => String(e.requestId).startsWith(prefix)).length;
    await waitFor(() => Promise.resolve(count() >= sent), { timeoutMs: 10_000, message: 'lines are missing' }).catch(() => undefined);
    assert.ok(sent > 50, `${sent} requests`);
    assert.equal(count(), sent);
    // Portico's session on the replaced worker's ring ends once that worker serves nothing, so the worker exits.
    await waitFor(async () => parseShowProc(await cliCommand(join(portico.stateDir, 'master.sock'), 'show proc')).workers.every((w) => !w.old), { timeoutMs: 5000, message: 'the replaced worker is still running' });
  });
});

describe('access log after HAProxy dies', () => {
  test('the restarted HAProxy is read again: requests after the restart have their lines', async () => {
    const masterPid = Number((await readFile(join(portico.stateDir, 'haproxy.pid'), 'utf8')).trim());
    const sessions = async (): Promise<number> => Number(/^portico_access_log_ring_sessions_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${portico.adminPort}/metrics`)).text())?.[1] ?? NaN);
    const before = await sessions();
    process.kill(masterPid, 'SIGKILL');
    // The supervisor restarts HAProxy from the last good configuration; /readyz is 200 again once it serves.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${portico.adminPort}/readyz`).then((r) => r.status).catch(() => 0)) !== 200, { timeoutMs: 2000, intervalMs: 5, message: '/readyz stayed 200' }).catch(() => undefined);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${portico.adminPort}/readyz`).then((r) => r.status).catch(() => 0)) === 200, { timeoutMs: 15_000, message: 'HAProxy was not restarted' });
    const id = rid();
    assert.equal((await httpGet(portico.httpPort, { host: 'loud.test', path: '/after-restart', headers: { 'x-request-id': id } })).status, 200);
    assert.equal((await lineOf(portico, id)).status, 200);
    assert.ok((await sessions()) > before, 'a session on the new worker');
  });
});

describe('access log at shutdown', () => {
  test("the last requests' lines are written before Portico exits, and reading them does not hold HAProxy", async () => {
    const last = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--shutdown-grace-period', '20'] });
    await last.waitReady();
    const ids = [rid(), rid(), rid()];
    for (const id of ids) assert.equal((await httpGet(last.httpPort, { host: 'loud.test', path: '/last', headers: { 'x-request-id': id } })).status, 200);
    const began = Date.now();
    const exit = await last.stop('SIGTERM');
    assert.equal(exit.code, 0);
    // Nothing is in flight: HAProxy stops at once rather than after the grace period.
    assert.ok(Date.now() - began < 10_000, `Portico took ${Date.now() - began} ms to stop`);
    for (const id of ids) assert.equal(linesOf(last, id).length, 1, `the line of ${id}`);
  });
});

describe('--access-log off', () => {
  test('writes no line', async () => {
    const off = await startPortico({ manifests: dir, args: ['--reload-interval', '0', '--access-log', 'off'] });
    await off.waitReady();
    const id = rid();
    assert.equal((await httpGet(off.httpPort, { host: 'loud.test', path: '/', headers: { 'x-request-id': id } })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(accessLines(off).length, 0);
    await off.stop();
  });
});
