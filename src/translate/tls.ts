// Rules T2-T5, T8, M7 and tls-security-level: certificates from Secrets, bound to SNI names. Certificates are parsed
// and re-encoded here, so HAProxy only ever reads PEM that Portico produced from a validated certificate and key,
// and only a chain that loads under the OpenSSL security level HAProxy applies (certificate-security.ts).
import { isCanary } from './annotations/canary.js';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import type { Certificate, Diagnostic, SniBinding } from '../model/types.js';
import { securityLevelProblem } from './certificate-security.js';
import { cmp, objectRef } from './diagnostics.js';
import type { IngressInfo } from './validate-ingress.js';
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import { byAge } from './routes.js';

export type SecretField = 'data[tls.crt]' | 'data[tls.key]';

export type ParsedSecret =
  | { ok: true; cert: Omit<Certificate, 'id' | 'secret'> }
  | { ok: false; field: SecretField; rule: 'T2' | 'tls-security-level'; reason: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Secrets are parsed again only when their content changes: RSA parsing is the costly part of a translation. */
const cache = new Map<string, ParsedSecret>();
const CACHE_LIMIT = 20_000;

function field(secret: Obj, key: string): string | undefined {
  const stringData = isObject(secret.stringData) ? secret.stringData : {};
  if (typeof stringData[key] === 'string') return stringData[key];
  const data = isObject(secret.data) ? secret.data : {};
  const v = data[key];
  if (typeof v !== 'string') return undefined;
  if (!/^[A-Za-z0-9+/=\s]*$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

/** The same Secret object (sources hand unchanged objects over as the same reference) is not even hashed again. */
const bySecret = new WeakMap<Obj, ParsedSecret>();

export function parseTlsSecret(secret: Obj): ParsedSecret {
  const known = bySecret.get(secret);
  if (known) return known;
  const parsed = parseTlsSecretData(secret);
  bySecret.set(secret, parsed);
  return parsed;
}

const invalid = (f: SecretField, reason: string): ParsedSecret => ({ ok: false, field: f, rule: 'T2', reason });

function parseTlsSecretData(secret: Obj): ParsedSecret {
  const crt = field(secret, 'tls.crt');
  const key = field(secret, 'tls.key');
  if (crt === undefined || crt.trim() === '') return invalid('data[tls.crt]', 'tls.crt is missing or not base64');
  if (key === undefined || key.trim() === '') return invalid('data[tls.key]', 'tls.key is missing or not base64');
  const cacheKey = createHash('sha256').update(crt).update('\0').update(key).digest('hex');
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const parsed = parsePair(crt, key);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(cacheKey, parsed);
  return parsed;
}

function parsePair(crt: string, key: string): ParsedSecret {
  const blocks = crt.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return invalid('data[tls.crt]', 'tls.crt holds no PEM certificate');
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch (e) {
    return invalid('data[tls.crt]', `tls.crt is not a valid PEM certificate (${opensslReason(e)})`);
  }
  let keyPem: string;
  try {
    const k = createPrivateKey({ key, format: 'pem' }); // PKCS#1, PKCS#8 and SEC1 keys alike
    if (!chain[0]!.checkPrivateKey(k)) return invalid('data[tls.key]', 'tls.key does not match the certificate in tls.crt');
    keyPem = k.export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (e) {
    return invalid('data[tls.key]', `tls.key is not a valid PEM private key (${opensslReason(e)})`);
  }
  const weak = securityLevelProblem(chain);
  if (weak) return { ok: false, field: weak.field, rule: 'tls-security-level', reason: weak.reason };
  const leaf = chain[0]!;
  const dnsNames = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  const pem = chain.map((c) => c.toString()).join('') + keyPem;
  return {
    ok: true,
    cert: {
      pem,
      dnsNames,
      notBefore: new Date(leaf.validFrom).toISOString(),
      notAfter: new Date(leaf.validTo).toISOString(),
      sha256: leaf.fingerprint256.replace(/:/g, '').toLowerCase(),
    },
  };
}

/** OpenSSL's default security level (2, as Debian ships it) refuses keys below 112-bit strength: HAProxy would then
 * reject the whole configuration. */
/** OpenSSL's reason without its build-specific error codes, so messages are the same on every machine. */
function opensslReason(e: unknown): string {
  const m = e as { reason?: unknown; code?: unknown; message?: unknown };
  if (typeof m.reason === 'string') return m.reason;
  return typeof m.code === 'string' ? m.code : 'unreadable';
}

/** Does a certificate SAN list cover a host (exact, or `*.x` covering one label)? Wildcard TLS hosts need the same wildcard SAN. */
export function covers(dnsNames: string[], host: string): boolean {
  if (dnsNames.includes(host)) return true;
  if (host.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && dnsNames.includes(`*${host.slice(dot)}`);
}

export interface TlsResult {
  certificates: Certificate[];
  sni: SniBinding[];
  defaultCertificate: string | undefined;
  diagnostics: Diagnostic[];
}

export function buildTls(owned: IngressInfo[], secrets: ReadonlyMap<string, Obj>, defaultSecret: string | undefined): TlsResult {
  const diagnostics: Diagnostic[] = [];
  const certificates = new Map<string, Certificate>();
  const load = (secretKey: string, who: string, fieldName: string): Certificate | undefined => {
    const known = certificates.get(secretKey);
    if (known) return known;
    const secret = secrets.get(secretKey);
    if (!secret) {
      diagnostics.push({ level: 'warning', object: who, field: fieldName, rule: 'T5', message: `Secret ${secretKey} not found; the default certificate is used` });
      return undefined;
    }
    const parsed = parseTlsSecret(secret);
    if (!parsed.ok) {
      const [ns, name] = secretKey.split('/');
      diagnostics.push({ level: 'error', object: objectRef('Secret', { namespace: ns, name }), field: parsed.field, rule: parsed.rule, message: parsed.reason });
      diagnostics.push({ level: 'warning', object: who, field: fieldName, rule: 'T5', message: `Secret ${secretKey} is unusable (${parsed.reason}); the default certificate is used` });
      return undefined;
    }
    const cert: Certificate = { id: secretKey.replace('/', '_'), secret: secretKey, ...parsed.cert };
    certificates.set(secretKey, cert);
    return cert;
  };

  const exact = new Map<string, string>(); // tls host -> certificate id, first (oldest) wins (M7)
  const claimedBy = new Map<string, { ing: IngressInfo; secret: string }>();
  const sanOnly: Certificate[] = [];
  for (const ing of [...owned].sort(byAge)) {
    // A canary Ingress's TLS section is not used, as ingress-nginx skips canaries when it sets up servers.
    if (isCanary(ing.annotations)) continue;
    ing.tls.forEach((t, i) => {
      if (t.secretName === '') return; // hosts served with the default certificate
      const cert = load(`${ing.namespace}/${t.secretName}`, ing.ref, `spec.tls[${i}].secretName`);
      if (!cert) return;
      if (t.hosts.length === 0) {
        sanOnly.push(cert); // T4 step 3: chosen by its own SANs
        return;
      }
      t.hosts.forEach((h, j) => {
        const winner = claimedBy.get(h);
        if (winner) {
          if (winner.secret !== cert.secret)
            diagnostics.push({ level: 'warning', object: ing.ref, field: `spec.tls[${i}].hosts[${j}]`, rule: 'M7', message: `${h} already uses the certificate of Secret ${winner.secret} from ${winner.ing.ref} (oldest first; same age: namespace/name order); Secret ${cert.secret} is not used for it` });
          return;
        }
        if (!covers(cert.dnsNames, h)) {
          diagnostics.push({ level: 'warning', object: ing.ref, field: `spec.tls[${i}].hosts[${j}]`, rule: 'T5', message: `certificate in Secret ${cert.secret} does not cover ${h} (SANs: ${cert.dnsNames.join(', ') || 'none'}); the default certificate is used` });
          return;
        }
        exact.set(h, cert.id);
        claimedBy.set(h, { ing, secret: cert.secret });
      });
    });
  }
  // T4 step 3 after steps 1 and 2: a SAN-selected certificate only gets names no tls host claimed, directly or by wildcard.
  for (const cert of sanOnly) {
    for (const name of cert.dnsNames) {
      if (exact.has(name)) continue;
      const dot = name.indexOf('.');
      if (!name.startsWith('*.') && dot > 0 && exact.has(`*${name.slice(dot)}`)) continue;
      if (!/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
        // SANs reach the crt-list: DNS names only.
        const [namespace, secretName] = cert.secret.split('/');
        diagnostics.push({ level: 'warning', object: objectRef('Secret', { namespace, name: secretName }), field: 'data[tls.crt]', rule: 'T4', message: `SAN ${JSON.stringify(name.slice(0, 253))} is not a DNS name; the certificate is not selected by it` });
        continue;
      }
      exact.set(name, cert.id);
    }
  }

  let defaultCertificate: string | undefined;
  if (defaultSecret !== undefined) {
    const cert = load(defaultSecret, `flag --default-ssl-certificate`, defaultSecret);
    defaultCertificate = cert?.id;
  }

  const used = new Set([...exact.values(), ...(defaultCertificate ? [defaultCertificate] : [])]);
  return {
    certificates: [...certificates.values()].filter((c) => used.has(c.id)).sort((a, b) => cmp(a.id, b.id)),
    sni: [...exact.entries()].map(([host, certificate]) => ({ host, certificate })).sort((a, b) => cmp(a.host, b.host)),
    defaultCertificate,
    diagnostics,
  };
}
