// Finding the API server: the kubeconfig and in-cluster cases kube-config.test.ts leaves out (found by mutation
// testing). Each bad file must be refused with a ConfigError naming the reason, never a TypeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, inClusterConfig, kubeconfigFile } from '../../src/sources/kubernetes/config.js';

async function file(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-kc-'));
  await writeFile(join(dir, 'config'), text);
  return join(dir, 'config');
}

const refused = (path: string, reason: RegExp): void => {
  assert.throws(() => kubeconfigFile(path), (e: Error) => e instanceof ConfigError && reason.test(e.message) && e.message.includes(path), `${path}: ${reason}`);
};

test('a kubeconfig that is not YAML, not an object, or whose lists are not lists, is refused with the reason', async () => {
  refused(await file('clusters: [unclosed'), /config: Flow sequence .* at line 1, column 20/);
  refused(await file('just a string\n'), /not a YAML object/);
  refused(await file(stringify({ 'current-context': 'c', contexts: { c: {} }, clusters: [], users: [] })), /no current-context/);
});

test('the context must name a cluster that has a server', async () => {
  const base = { 'current-context': 'ctx', contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }], users: [] };
  refused(await file(stringify({ ...base, clusters: [{ name: 'other', cluster: { server: 'https://k' } }] })), /context ctx names no cluster with a server/);
  refused(await file(stringify({ ...base, clusters: [{ name: 'c', cluster: { 'certificate-authority-data': 'QQ==' } }] })), /context ctx names no cluster with a server/);
});

test('with no current-context, a single context is used; with two, none is guessed', async () => {
  const one = { contexts: [{ name: 'only', context: { cluster: 'c', user: 'u' } }], clusters: [{ name: 'c', cluster: { server: 'https://k:6443///' } }], users: [{ name: 'u', user: { token: 't' } }] };
  const cfg = kubeconfigFile(await file(stringify(one)));
  assert.deepEqual([cfg.server, cfg.token], ['https://k:6443', 't'], 'every trailing slash of the server is dropped');
  refused(await file(stringify({ ...one, contexts: [...one.contexts, { name: 'second', context: { cluster: 'c', user: 'u' } }] })), /no current-context/);
});

test('fields of the wrong type are ignored, not used; a relative tokenFile is relative to the kubeconfig', async () => {
  const path = await file(
    stringify({
      'current-context': 'ctx',
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 7 } }],
      clusters: [{ name: 'c', cluster: { server: 'https://k' } }],
      users: [{ name: 'u', user: { token: 12345, tokenFile: 'token' } }],
    }),
  );
  const cfg = kubeconfigFile(path);
  assert.deepEqual([cfg.token, cfg.namespace, cfg.tokenFile], [undefined, undefined, join(path, '..', 'token')]);
});

test('in cluster: both KUBERNETES_SERVICE_HOST and _PORT are needed; an IPv4 address is not bracketed; TLS is verified', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-sa-'));
  await writeFile(join(dir, 'ca.crt'), 'CLUSTER-CA');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  try {
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    delete process.env.KUBERNETES_SERVICE_PORT;
    assert.throws(() => inClusterConfig(dir), (e: Error) => e instanceof ConfigError && /KUBERNETES_SERVICE_HOST\/PORT are not set/.test(e.message));
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const cfg = inClusterConfig(dir);
    // No namespace file: the namespace is unknown rather than an error.
    assert.deepEqual([cfg.server, cfg.insecureSkipTlsVerify, cfg.namespace], ['https://10.96.0.1:443', false, undefined]);
  } finally {
    if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = saved.host;
    if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    else process.env.KUBERNETES_SERVICE_PORT = saved.port;
  }
});
