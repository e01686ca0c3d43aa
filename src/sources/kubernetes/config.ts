// Where the API server is and how to authenticate: a kubeconfig file, or the pod's service account.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { isObject } from '../../k8s/objects.js';

export interface ClusterConfig {
  server: string;
  ca?: string | undefined;
  insecureSkipTlsVerify: boolean;
  /** A fixed token, or a file re-read when it rotates (projected service account tokens expire). */
  token?: string | undefined;
  tokenFile?: string | undefined;
  clientCert?: string | undefined;
  clientKey?: string | undefined;
  /** Namespace of the pod (in cluster) or of the kubeconfig context. */
  namespace?: string | undefined;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export class ConfigError extends Error {}

export function inClusterConfig(saDir = SA_DIR): ClusterConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new ConfigError('not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set (use --kubeconfig or --manifests)');
  const h = host.includes(':') ? `[${host}]` : host;
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(saDir, 'namespace'), 'utf8').trim();
  } catch {
    namespace = undefined;
  }
  return {
    server: `https://${h}:${port}`,
    ca: readFileSync(join(saDir, 'ca.crt'), 'utf8'),
    insecureSkipTlsVerify: false,
    tokenFile: join(saDir, 'token'),
    namespace,
  };
}

function str(o: Record<string, unknown>, k: string): string | undefined {
  return typeof o[k] === 'string' ? o[k] : undefined;
}

function named(list: unknown, name: string | undefined, key: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const entry = (list as unknown[]).find((e) => isObject(e) && e.name === name);
  return isObject(entry) && isObject(entry[key]) ? entry[key] : undefined;
}

/** The subset of kubeconfig that client-go honours for token, certificate and CA authentication. */
export function kubeconfigFile(path: string): ClusterConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`kubeconfig ${path}: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError(`kubeconfig ${path}: not a YAML object`);
  const ctxName = str(doc, 'current-context');
  const ctx = named(doc.contexts, ctxName, 'context') ?? (Array.isArray(doc.contexts) && doc.contexts.length === 1 ? named(doc.contexts, (doc.contexts[0] as { name?: string }).name, 'context') : undefined);
  if (!ctx) throw new ConfigError(`kubeconfig ${path}: no current-context`);
  const cluster = named(doc.clusters, str(ctx, 'cluster'), 'cluster');
  if (!cluster || !str(cluster, 'server')) throw new ConfigError(`kubeconfig ${path}: context ${ctxName ?? ''} names no cluster with a server`);
  const user = named(doc.users, str(ctx, 'user'), 'user') ?? {};
  const base = dirname(path);
  const file = (p: string | undefined): string | undefined => (p === undefined ? undefined : readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8'));
  const b64 = (s: string | undefined): string | undefined => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));
  return {
    server: str(cluster, 'server')!.replace(/\/+$/, ''),
    ca: b64(str(cluster, 'certificate-authority-data')) ?? file(str(cluster, 'certificate-authority')),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: str(user, 'token'),
    tokenFile: str(user, 'tokenFile') === undefined ? undefined : (isAbsolute(str(user, 'tokenFile')!) ? str(user, 'tokenFile') : join(base, str(user, 'tokenFile')!)),
    clientCert: b64(str(user, 'client-certificate-data')) ?? file(str(user, 'client-certificate')),
    clientKey: b64(str(user, 'client-key-data')) ?? file(str(user, 'client-key')),
    namespace: str(ctx, 'namespace'),
  };
}
