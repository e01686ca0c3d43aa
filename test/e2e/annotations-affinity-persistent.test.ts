// Persistent cookie affinity and session-cookie-change-on-failure through real HAProxy, as a client sees it: the
// cookie names the pod that answered with ingress-nginx's own key (md5 of the upstream and the pod's address), so a
// cookie ingress-nginx wrote lands on its pod; a client keeps its pod when pods are added (balanced clients may move,
// to the new pod only); a client whose pod is removed moves and gets the new pod's cookie; a pod that refuses
// connections while still listed sends its client elsewhere, with a new cookie only under change-on-failure; a forged
// or foreign key is balanced over the route's own pods and re-cookied; none of it, nor switching modes, reloads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, startEcho, stopEverything, startPortico, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const P = 'nginx.ingress.kubernetes.io/';
const IPS = ['127.0.216.1', '127.0.216.2', '127.0.216.3', '127.0.216.4'];
const OTHER_IP = '127.0.216.9';
const pods = new Map<string, Echo>();
let dir = '';
let portico: Portico;

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const BACKEND_KEY = md5(md5('default-sticky-80') + 'default-sticky-80');
/** ingress-nginx's persistent key of a pod of Service port default/sticky:80 (its nodemap: md5(upstream .. ip:port)). */
const podKey = (ip: string, upstream = 'default-sticky-80'): string => md5(`${upstream}${ip}:3000`);
const podOf = (ip: string): string => `p${IPS.indexOf(ip) + 1}`;
const ipOf = (pod: string): string => IPS[Number(pod.slice(1)) - 1]!;

function app(ips: string[]): string {
  return docs(
    service({ name: 'sticky', ports: [{ port: 80, targetPort: 3000 }] }),
    endpointSlice({ name: 'sticky-1', service: 'sticky', ports: [{ port: 3000 }], endpoints: ips.map((ip) => ({ ip })) }),
    service({ name: 'other', ports: [{ port: 80, targetPort: 3000 }] }),
    endpointSlice({ name: 'other-1', service: 'other', ports: [{ port: 3000 }], endpoints: [{ ip: OTHER_IP }] }),
  );
}

function routes(balancedMode: 'balanced' | 'persistent'): string {
  const sticky = (name: string, host: string, path: string, extra: Record<string, string>, svc = 'sticky'): string =>
    ingress({ name, annotations: { [`${P}affinity`]: 'cookie', [`${P}ssl-redirect`]: 'false', ...extra }, rules: [{ host, paths: [{ path, pathType: 'Prefix', service: svc, port: 80 }] }] });
  return docs(
    sticky('persist', 'persist.test', '/app', { [`${P}affinity-mode`]: 'persistent' }),
    sticky('cof', 'cof.test', '/c', { [`${P}affinity-mode`]: 'persistent', [`${P}session-cookie-change-on-failure`]: 'true' }),
    sticky('bal', 'bal.test', '/b', { [`${P}affinity-mode`]: balancedMode }),
    sticky('other', 'other.test', '/o', { [`${P}affinity-mode`]: 'persistent' }, 'other'),
    // Hostile values are refused (A1) and the Ingress keeps balanced affinity without change-on-failure.
    sticky('hostile', 'hostile.test', '/h', { [`${P}affinity-mode`]: 'persistent\n  use-server ep_127_0_216_1_3000 # }', [`${P}session-cookie-change-on-failure`]: `true${'\n'.repeat(3)}${'x'.repeat(1 << 20)}` }),
  );
}

interface Reply {
  pod: string;
  ip: string;
  setCookie: string[];
}

const HOSTS = { persist: ['persist.test', '/app'], cof: ['cof.test', '/c'], bal: ['bal.test', '/b'], other: ['other.test', '/o'], hostile: ['hostile.test', '/h'] } as const;

async function get(route: keyof typeof HOSTS, cookie?: string): Promise<Reply> {
  const [host, path] = HOSTS[route];
  const r = await httpGet(portico.httpPort, { host, path, headers: cookie ? { cookie } : {} });
  assert.equal(r.status, 200, r.body);
  const sc = r.headers['set-cookie'];
  const reply = r.json<EchoReply>();
  return { pod: reply.pod, ip: reply.ip, setCookie: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

/** The name=value pair of the only Set-Cookie, which must name the pod that answered. */
function podCookie(r: Reply, path = '/app'): string {
  assert.equal(r.setCookie.length, 1, `one Set-Cookie, got ${JSON.stringify(r.setCookie)}`);
  assert.equal(r.setCookie[0], `INGRESSCOOKIE=${podKey(r.ip)}|${BACKEND_KEY}; Path=${path}; HttpOnly`);
  return `INGRESSCOOKIE=${podKey(r.ip)}|${BACKEND_KEY}`;
}

async function newClient(route: 'persist' | 'cof' | 'bal'): Promise<{ pod: string; cookie: string }> {
  const r = await get(route);
  if (route === 'bal') {
    assert.equal(r.setCookie.length, 1);
    return { pod: r.pod, cookie: r.setCookie[0]!.split(';')[0]! };
  }
  return { pod: r.pod, cookie: podCookie(r, HOSTS[route][1]) };
}

async function startPod(ip: string): Promise<void> {
  pods.set(ip, await startEcho({ pod: podOf(ip), ip, port: 3000 }));
}

before(async () => {
  for (const ip of IPS) await startPod(ip);
  pods.set(OTHER_IP, await startEcho({ pod: 'other', ip: OTHER_IP, port: 3000 }));
  dir = await manifestDir();
  await writeManifest(dir, 'app.yaml', app(IPS.slice(0, 3)));
  await writeManifest(dir, 'routes.yaml', routes('balanced'));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything([...pods.values()]));

describe('the persistent cookie', () => {
  test('names the pod that answered with ingress-nginx\'s key, and keeps the client there without a new cookie', async () => {
    const seen = new Set<string>();
    for (let c = 0; c < 6; c++) {
      const client = await newClient('persist');
      seen.add(client.pod);
      for (let i = 0; i < 8; i++) {
        const r = await get('persist', client.cookie);
        assert.equal(r.pod, client.pod);
        assert.deepEqual(r.setCookie, []);
      }
    }
    assert.ok(seen.size >= 2, `new clients are balanced: ${[...seen].join()}`);
  });

  test('a cookie ingress-nginx wrote for a pod lands on that pod', async () => {
    for (const ip of IPS.slice(0, 3)) {
      for (let i = 0; i < 4; i++) {
        const r = await get('persist', `INGRESSCOOKIE=${podKey(ip)}|${BACKEND_KEY}`);
        assert.equal(r.pod, podOf(ip));
        assert.deepEqual(r.setCookie, []);
      }
    }
  });

  test('a forged, stale or foreign key picks a pod of the route\'s own Service and is replaced by that pod\'s cookie', async () => {
    const forged = [
      'garbage',
      '',
      '0'.repeat(32),
      podKey(OTHER_IP, 'default-other-80'), // the other Service's pod
      podKey(IPS[3]!), // a pod of this Service that is not an endpoint (yet)
      podKey(IPS[0]!, 'default-other-80'), // this pod under another upstream's salt
      'ep_127_0_216_1_3000', // a server name
      `${podKey(IPS[0]!).toUpperCase()}`,
      `${podKey(IPS[0]!)}x`,
      'be_default_sticky_80_sticky/ep_127_0_216_1_3000',
      '%[src]',
      'a'.repeat(5000),
    ];
    for (const key of forged) {
      const r = await get('persist', `INGRESSCOOKIE=${key}|${BACKEND_KEY}`);
      assert.ok(['p1', 'p2', 'p3'].includes(r.pod), `${key.slice(0, 40)}: served by ${r.pod}`);
      podCookie(r);
    }
    // Hostile annotation values: the Ingress is served with balanced affinity, its cookie a random key.
    const hostile = await get('hostile');
    assert.match(hostile.setCookie[0] ?? '', new RegExp(`^INGRESSCOOKIE=\\d+\\.\\d{3}\\.\\d+\\.\\d+\\|${BACKEND_KEY}; Path=/h; HttpOnly$`));
    // The other Service's own cookie keeps its client there: the key was valid, only not for this route.
    const other = await get('other');
    assert.equal(other.pod, 'other');
    assert.equal(other.setCookie[0]?.split(';')[0], `INGRESSCOOKIE=${podKey(OTHER_IP, 'default-other-80')}|${md5(md5('default-other-80') + 'default-other-80')}`);
  });
});

describe('pods scaling at runtime, without a reload', () => {
  test('a pod added: every persistent client keeps its pod; balanced clients that move go to the new pod only', async () => {
    const persistent = [];
    const balanced = [];
    for (let c = 0; c < 24; c++) persistent.push(await newClient('persist'));
    for (let c = 0; c < 40; c++) balanced.push(await newClient('bal'));
    const reloads = await reloadCount(portico.adminPort);

    await writeManifest(dir, 'app.yaml', app(IPS));
    await waitFor(async () => (await get('persist')).pod === 'p4' || (await get('persist')).pod === 'p4', { timeoutMs: 5000, message: 'the new pod never served a new client' });
    for (const c of persistent) {
      const r = await get('persist', c.cookie);
      assert.equal(r.pod, c.pod, 'persistent: no session moves on scale-out');
      assert.deepEqual(r.setCookie, []);
    }
    let moved = 0;
    for (const c of balanced) {
      const r = await get('bal', c.cookie);
      if (r.pod !== c.pod) {
        assert.equal(r.pod, 'p4', 'a balanced client that moves moves to the new pod');
        moved++;
      }
    }
    assert.ok(moved > 0 && moved < balanced.length / 2, `balanced: ${moved} of ${balanced.length} clients moved (ingress-nginx rebalances about 1/n)`);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });

  test('a pod removed: its clients move to another pod and get its cookie (with or without change-on-failure); the others stay', async () => {
    const clients: { route: 'persist' | 'cof'; pod: string; cookie: string }[] = [];
    for (let c = 0; c < 16; c++) for (const route of ['persist', 'cof'] as const) clients.push({ route, ...(await newClient(route)) });
    const gone = clients.find((c) => c.route === 'persist')!.pod;
    assert.ok(clients.some((c) => c.route === 'cof' && c.pod === gone), 'a change-on-failure client on the pod that goes too');
    const reloads = await reloadCount(portico.adminPort);

    await writeManifest(dir, 'app.yaml', app(IPS.filter((ip) => ip !== ipOf(gone))));
    await waitFor(async () => {
      for (let i = 0; i < 12; i++) if ((await get('persist')).pod === gone) return false;
      return true;
    }, { timeoutMs: 5000, message: 'the removed pod still served' });
    for (const c of clients) {
      const r = await get(c.route, c.cookie);
      if (c.pod !== gone) {
        assert.equal(r.pod, c.pod);
        assert.deepEqual(r.setCookie, []);
        continue;
      }
      assert.notEqual(r.pod, gone);
      const moved = podCookie(r, HOSTS[c.route][1]);
      for (let i = 0; i < 3; i++) {
        const again = await get(c.route, moved);
        assert.equal(again.pod, r.pod, 'and stays where it went');
        assert.deepEqual(again.setCookie, []);
      }
    }
    assert.equal(await reloadCount(portico.adminPort), reloads);

    // Back: its old clients' cookies name it again, and they return to it.
    await writeManifest(dir, 'app.yaml', app(IPS));
    const back = clients.find((c) => c.pod === gone)!;
    await waitFor(async () => (await get(back.route, back.cookie)).pod === gone, { timeoutMs: 5000, message: 'the pod came back but its cookie did not lead to it' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});

describe('a pod that fails while still listed', () => {
  test('its client is served by another pod; the cookie is kept without change-on-failure and rewritten with it', async () => {
    const victim = IPS[1]!;
    const key = `INGRESSCOOKIE=${podKey(victim)}|${BACKEND_KEY}`;
    assert.equal((await get('persist', key)).pod, 'p2');
    await pods.get(victim)!.close();
    let restarted = false;
    try {
      for (let i = 0; i < 4; i++) {
        const kept = await get('persist', key);
        assert.notEqual(kept.pod, 'p2');
        assert.deepEqual(kept.setCookie, [], 'change-on-failure false: the cookie still names the failed pod');
      }
      const changed = await get('cof', key);
      assert.notEqual(changed.pod, 'p2');
      const fresh = podCookie(changed, '/c');
      await startPod(victim);
      restarted = true;
      assert.equal((await get('persist', key)).pod, 'p2', 'without change-on-failure the client returns to its pod');
      for (let i = 0; i < 3; i++) assert.equal((await get('cof', fresh)).pod, changed.pod, 'with it the client stays on the pod that answered');
    } finally {
      // Whatever failed above, the pod listens again for the tests after this one.
      if (!restarted) await startPod(victim);
    }
  });
});

describe('switching modes at runtime', () => {
  test('balanced to persistent is a map update: a balanced cookie is replaced by the pod\'s cookie, no reload', async () => {
    const client = await newClient('bal');
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'routes.yaml', routes('persistent'));
    await waitFor(async () => (await get('bal', client.cookie)).setCookie.length === 1, { timeoutMs: 5000, message: 'the mode never changed' });
    const r = await get('bal', client.cookie);
    const cookie = podCookie(r, '/b');
    assert.equal((await get('bal', cookie)).pod, r.pod);
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});
