// What an Ingress's proxy-ssl-* annotations (annotations/proxy-ssl.ts) make of their Secret: the TLS policy of the
// backends it sends to (BackendPolicy.tls). Apart from the annotations' module, which the annotation registry loads:
// reading a Secret's certificate needs tls.ts, which needs routes.ts, which needs the registry.
import { createHash } from 'node:crypto';
import type { BackendTls, Diagnostic } from '../model/types.js';
import type { Obj } from '../k8s/objects.js';
import { objectRef } from './diagnostics.js';
import { parseTlsSecret } from './tls.js';
import { parseCaSecret, secretValue } from './annotations/auth-tls.js';
import { NGINX_PREFIX } from './annotations/registry.js';
import type { AnnotationValues } from './annotations/registry.js';

export interface ProxySsl {
  tls?: BackendTls;
  diagnostics: Diagnostic[];
}

const short = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 10);

/**
 * The TLS policy an Ingress's `proxy-ssl-*` annotations give a backend spoken to over TLS; undefined without
 * `proxy-ssl-secret`. `lookup` reads a Secret by namespace/name (the translator records which).
 */
export function proxySslOf(v: AnnotationValues, ing: { namespace: string; ref: string }, lookup: (key: string) => Obj | undefined): ProxySsl {
  const diagnostics: Diagnostic[] = [];
  if (v.proxySslSecret === undefined) return { diagnostics };
  const field = `metadata.annotations[${NGINX_PREFIX}proxy-ssl-secret]`;
  const refuse = (why: string): ProxySsl => {
    diagnostics.push({ level: 'warning', object: ing.ref, field, rule: 'proxy-ssl-secret', message: `${why}: requests to these paths get 503, as ingress-nginx denies the location` });
    return { tls: { id: 'refused', refused: why }, diagnostics };
  };
  if (v.proxySslSecret === 'invalid') return refuse('proxy-ssl-secret is not a Secret name');
  const namespace = v.proxySslSecret.namespace ?? ing.namespace;
  const key = `${namespace}/${v.proxySslSecret.name}`;
  if (namespace !== ing.namespace) return refuse(`Secret ${key} is in another namespace, which an Ingress may not use`);
  const secret = lookup(key);
  if (!secret) return refuse(`Secret ${key} was not found`);
  const secretRef = objectRef('Secret', { namespace, name: v.proxySslSecret.name });
  let ca: { sha256: string; pem: string } | undefined;
  const hasCa = (secretValue(secret, 'ca.crt') ?? '').trim() !== '';
  if (hasCa) {
    const parsed = parseCaSecret(secret, key);
    if (!parsed.ok) {
      diagnostics.push({ level: 'error', object: secretRef, field: parsed.field, rule: 'proxy-ssl-secret', message: `${parsed.reason}; it cannot be used to verify a backend` });
      return refuse(`Secret ${key} ${parsed.reason}`);
    }
    ca = { sha256: createHash('sha256').update(parsed.ca.pem).digest('hex'), pem: parsed.ca.pem };
  }
  let cert: { sha256: string; pem: string } | undefined;
  const hasCert = (secretValue(secret, 'tls.crt') ?? '').trim() !== '' || (secretValue(secret, 'tls.key') ?? '').trim() !== '';
  if (hasCert) {
    const parsed = parseTlsSecret(secret);
    if (!parsed.ok) {
      diagnostics.push({ level: 'error', object: secretRef, field: parsed.field, rule: 'proxy-ssl-secret', message: `${parsed.reason}; it cannot be used as a client certificate for a backend` });
      return refuse(`Secret ${key} ${parsed.reason}`);
    }
    cert = { sha256: parsed.cert.sha256, pem: parsed.cert.pem };
  }
  if (!ca && !cert) return refuse(`Secret ${key} has neither ca.crt nor tls.crt and tls.key`);
  const verify = ca !== undefined && v.proxySslVerify === true;
  const depth = v.proxySslVerifyDepth === undefined || v.proxySslVerifyDepth === 0 ? 1 : v.proxySslVerifyDepth;
  const protocols = v.proxySslProtocols ?? ['TLSv1.2'];
  const body = {
    verify,
    depth,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(v.proxySslName !== undefined ? { name: v.proxySslName } : {}),
    serverName: v.proxySslServerName === true,
    ...(ca ? { minVersion: protocols[0]!, maxVersion: protocols[protocols.length - 1]!, ciphers: v.proxySslCiphers ?? 'DEFAULT' } : {}),
  };
  const id = short(String(body.verify), String(body.depth), ca?.sha256 ?? '', cert?.sha256 ?? '', body.name ?? '', String(body.serverName), body.minVersion ?? '', body.maxVersion ?? '', body.ciphers ?? '');
  return { tls: { id, ...body }, diagnostics };
}
