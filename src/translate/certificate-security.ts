// Rule tls-security-level: a certificate chain must load under the OpenSSL security level HAProxy runs with.
// Debian's OpenSSL 3 (the library Debian's HAProxy uses) is built with security level 2, so HAProxy refuses an
// RSA-1024 key or a SHA-1 signature that Node's own OpenSSL (level 1) loads happily. A refused certificate makes
// `haproxy -c` and `commit ssl cert` fail, so every later configuration would be rejected too: such a chain must be
// caught before it enters the model. The decision is OpenSSL's own (SSL_CTX_use_certificate and add1_chain_cert run
// their security checks while the chain loads); the explanation is ours, for a message a person can act on.
// test/unit/certificate-security-haproxy.test.ts checks that this accepts exactly what the real HAProxy accepts.
import { createSecureContext } from 'node:tls';
import type { X509Certificate } from 'node:crypto';

/** The level HAProxy's OpenSSL applies (Debian's build default). */
export const OPENSSL_SECURITY_LEVEL = 2;
/** Security bits each level asks of keys and signatures (OpenSSL's ssl_security_default_callback). */
const MIN_BITS = 112;
/**
 * Set explicitly, so neither Node's bundled default (level 1) nor an OPENSSL_CONF decides. Node applies the cipher
 * string before it loads the certificate, so the level is in force while the chain is checked (the matrix test
 * would notice if a future Node changed that order).
 */
const CIPHERS = `DEFAULT:@SECLEVEL=${OPENSSL_SECURITY_LEVEL}`;

export interface SecurityProblem {
  field: 'data[tls.crt]' | 'data[tls.key]';
  reason: string;
}

/**
 * Loads the chain (leaf first) into an OpenSSL context at the security level HAProxy uses; undefined when it loads.
 * Only certificates are checked: OpenSSL applies no security rule to the private key itself (its strength is the
 * certificate's public key), and whether the key matches the certificate is checked where the key is parsed.
 */
export function securityLevelProblem(chain: X509Certificate[]): SecurityProblem | undefined {
  try {
    createSecureContext({ cert: chain.map((c) => c.toString()).join(''), ciphers: CIPHERS });
    return undefined;
  } catch (e) {
    return explain(chain, opensslReasonOf(e));
  }
}

function opensslReasonOf(e: unknown): string {
  const m = e as { reason?: unknown; code?: unknown };
  if (typeof m.reason === 'string') return m.reason;
  return typeof m.code === 'string' ? m.code : 'unknown error';
}

function explain(chain: X509Certificate[], reason: string): SecurityProblem {
  const level = `OpenSSL's security level ${OPENSSL_SECURITY_LEVEL}`;
  if (reason === 'ee key too small') {
    const weak = keyStrength(chain[0]!);
    return { field: 'data[tls.key]', reason: weak ? `${weak.describe} is below the ${weak.required} ${level} requires` : `the certificate's key is too small for ${level} (${reason})` };
  }
  if (reason === 'ca key too small') {
    for (let i = 1; i < chain.length; i++) {
      const weak = keyStrength(chain[i]!);
      if (weak && weak.tooSmall) return { field: 'data[tls.crt]', reason: `${where(chain, i)}: ${weak.describe} is below the ${weak.required} ${level} requires` };
    }
    return { field: 'data[tls.crt]', reason: `a chain certificate's key is too small for ${level} (${reason})` };
  }
  if (reason === 'ca md too weak') {
    for (let i = 0; i < chain.length; i++) {
      const c = chain[i]!;
      if (c.checkIssued(c)) continue; // OpenSSL does not judge a self-signed certificate by its own signature
      const sig = signatureAlgorithm(c);
      if (sig && WEAK_SIGNATURES.has(sig)) return { field: 'data[tls.crt]', reason: `${where(chain, i)} is signed with ${WEAK_SIGNATURES.get(sig)!}, which ${level} refuses` };
    }
    return { field: 'data[tls.crt]', reason: `a certificate in tls.crt has a signature too weak for ${level} (${reason})` };
  }
  return { field: 'data[tls.crt]', reason: `tls.crt does not load under ${level} (${reason})` };
}

function where(chain: X509Certificate[], i: number): string {
  const cn = /^CN=(.*)$/m.exec(chain[i]!.subject)?.[1];
  const name = cn === undefined ? '' : ` (CN ${JSON.stringify(cn.slice(0, 64))})`;
  return i === 0 ? `the certificate${name}` : `chain certificate ${i + 1} in tls.crt${name}`;
}

interface KeyStrength {
  describe: string;
  required: string;
  tooSmall: boolean;
}

/** The public key's size as OpenSSL weighs it: RSA and DSA by modulus, EC by curve order (half of it in bits), read
 * from the curve's name (secp160r1, prime192v1, brainpoolP256r1...); a name without it (wap-wsg-idm-ecid-wtls8)
 * leaves the size unknown. */
function keyStrength(cert: X509Certificate): KeyStrength | undefined {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
    case 'dsa': {
      const bits = details.modulusLength;
      if (bits === undefined) return undefined;
      const kind = key.asymmetricKeyType === 'dsa' ? 'DSA' : 'RSA';
      return { describe: `${kind} key of ${bits} bits`, required: '2048 bits', tooSmall: bits < 2048 };
    }
    case 'ec': {
      const curve = details.namedCurve;
      if (curve === undefined) return undefined;
      const bits = Number(/(\d{3})/.exec(curve)?.[1] ?? NaN);
      if (Number.isNaN(bits)) return undefined;
      return { describe: `EC key on curve ${curve} (${bits} bits)`, required: `${MIN_BITS * 2} bits`, tooSmall: bits < MIN_BITS * 2 };
    }
    default:
      return undefined;
  }
}

/** Signature algorithms below 112 security bits, by OID, with the name a person knows them by. */
const WEAK_SIGNATURES = new Map<string, string>([
  ['1.2.840.113549.1.1.2', 'MD2 (md2WithRSAEncryption)'],
  ['1.2.840.113549.1.1.3', 'MD4 (md4WithRSAEncryption)'],
  ['1.2.840.113549.1.1.4', 'MD5 (md5WithRSAEncryption)'],
  ['1.2.840.113549.1.1.5', 'SHA-1 (sha1WithRSAEncryption)'],
  ['1.3.14.3.2.29', 'SHA-1 (sha1WithRSA)'],
  ['1.2.840.10045.4.1', 'SHA-1 (ecdsa-with-SHA1)'],
  ['1.2.840.10040.4.3', 'SHA-1 (dsa-with-SHA1)'],
]);

/**
 * The OID of a certificate's outer signatureAlgorithm (RFC 5280: Certificate ::= SEQUENCE { tbsCertificate,
 * signatureAlgorithm, signatureValue }), read from its DER; undefined if the encoding is not what DER allows.
 */
export function signatureAlgorithm(cert: X509Certificate): string | undefined {
  const der = cert.raw;
  const outer = readTlv(der, 0);
  if (!outer || der[0] !== 0x30) return undefined;
  const tbs = readTlv(der, outer.start);
  if (!tbs) return undefined;
  const algId = readTlv(der, tbs.end);
  if (!algId || der[tbs.end] !== 0x30) return undefined;
  const oid = readTlv(der, algId.start);
  if (!oid || der[algId.start] !== 0x06) return undefined;
  return decodeOid(der.subarray(oid.start, oid.end));
}

/** One DER tag-length-value at `at`: where its contents start and end. */
function readTlv(der: Buffer, at: number): { start: number; end: number } | undefined {
  if (at + 2 > der.length) return undefined;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  return end <= der.length ? { start, end } : undefined;
}

function decodeOid(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return undefined;
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (b & 0x80) continue;
    parts.push(value);
    value = 0;
  }
  const first = parts.shift();
  if (first === undefined) return undefined;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}
