// How Portico finds and authenticates to the API server: kubeconfig variants and the in-cluster service account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, inClusterConfig, kubeconfigFile } from '../../src/sources/kubernetes/config.js';

async function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-kc-'));
  const path = join(dir, 'config');
  await writeFile(join(dir, 'ca.pem'), 'CA-FILE');
  await writeFile(join(dir, 'client.crt'), 'CERT-FILE');
  await writeFile(join(dir, 'client.key'), 'KEY-FILE');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [{ name: 'other', context: { cluster: 'nope', user: 'nope' } }, { name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

test('token and CA data from the current context', async () => {
  const cfg = kubeconfigFile(await kubeconfig({ server: 'https://10.0.0.1:6443/', 'certificate-authority-data': Buffer.from('CA').toString('base64') }, { token: 'abc' }));
  assert.deepEqual([cfg.server, cfg.ca, cfg.token, cfg.namespace, cfg.insecureSkipTlsVerify], ['https://10.0.0.1:6443', 'CA', 'abc', 'team', false]);
});

test('client certificate and CA from files relative to the kubeconfig; insecure-skip-tls-verify', async () => {
  const cfg = kubeconfigFile(await kubeconfig({ server: 'https://k', 'certificate-authority': 'ca.pem', 'insecure-skip-tls-verify': true }, { 'client-certificate': 'client.crt', 'client-key': 'client.key' }));
  assert.deepEqual([cfg.ca, cfg.clientCert, cfg.clientKey, cfg.insecureSkipTlsVerify, cfg.token], ['CA-FILE', 'CERT-FILE', 'KEY-FILE', true, undefined]);
});

test('client certificate data, a token file, and a plain http server', async () => {
  const cfg = kubeconfigFile(
    await kubeconfig({ server: 'http://127.0.0.1:8080' }, { 'client-certificate-data': Buffer.from('C').toString('base64'), 'client-key-data': Buffer.from('K').toString('base64'), tokenFile: '/run/token' }),
  );
  assert.deepEqual([cfg.server, cfg.clientCert, cfg.clientKey, cfg.tokenFile], ['http://127.0.0.1:8080', 'C', 'K', '/run/token']);
});

test('a kubeconfig without a usable context is refused with the reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-kc-'));
  await writeFile(join(dir, 'bad'), stringify({ clusters: [], contexts: [], users: [] }));
  assert.throws(() => kubeconfigFile(join(dir, 'bad')), (e: Error) => e instanceof ConfigError && /no current-context/.test(e.message));
});

test('in cluster: the service account token file, CA and namespace; the API address from the environment', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-sa-'));
  await writeFile(join(dir, 'ca.crt'), 'CLUSTER-CA');
  await writeFile(join(dir, 'token'), 'sa-token');
  await writeFile(join(dir, 'namespace'), 'portico\n');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  try {
    delete process.env.KUBERNETES_SERVICE_HOST;
    assert.throws(() => inClusterConfig(dir), ConfigError);
    process.env.KUBERNETES_SERVICE_HOST = 'fd00::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const cfg = inClusterConfig(dir);
    // The token is a file, re-read by the client as it rotates, not a value copied once.
    assert.deepEqual([cfg.server, cfg.ca, cfg.tokenFile, cfg.token, cfg.namespace], ['https://[fd00::1]:443', 'CLUSTER-CA', join(dir, 'token'), undefined, 'portico']);
  } finally {
    if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = saved.host;
    if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    else process.env.KUBERNETES_SERVICE_PORT = saved.port;
  }
});
