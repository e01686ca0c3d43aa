// Rule tls-security-level, the explanation: for each reason OpenSSL (security level 2) refuses a chain, the field and
// the message a person can act on. The chains are checked in under fixtures/certificate-security/ (make.sh there
// rebuilds them); whether Portico refuses exactly what HAProxy refuses is certificate-security-haproxy.test.ts.
// Then the DER reader that finds a certificate's signature algorithm, on certificates and on hand-made encodings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { securityLevelProblem, signatureAlgorithm } from '../../src/translate/certificate-security.js';

// This file runs as dist/test/unit/certificate-security.test.js: three levels up is the repository root.
const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'test', 'unit', 'fixtures', 'certificate-security');
const chain = (name: string): X509Certificate[] =>
  (readFileSync(join(FIXTURES, `${name}.pem`), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
const LEVEL = "OpenSSL's security level 2";

void describe('securityLevelProblem', () => {
  test('chains that load at level 2 have no problem', () => {
    assert.equal(securityLevelProblem(chain('ok-rsa2048')), undefined);
    assert.equal(securityLevelProblem(chain('ok-p256')), undefined);
    assert.equal(securityLevelProblem([...chain('ok-p256'), ...chain('ok-rsa2048')]), undefined);
  });

  test("the leaf's key too small: data[tls.key], with the key's kind and size", () => {
    const key = (name: string): string => {
      const p = securityLevelProblem(chain(name));
      assert.equal(p?.field, 'data[tls.key]', name);
      return p.reason;
    };
    assert.equal(key('ee-rsa1024'), `RSA key of 1024 bits is below the 2048 bits ${LEVEL} requires`);
    assert.equal(key('ee-rsa-pss1024'), `RSA key of 1024 bits is below the 2048 bits ${LEVEL} requires`);
    assert.equal(key('ee-dsa1024'), `DSA key of 1024 bits is below the 2048 bits ${LEVEL} requires`);
    assert.equal(key('ee-prime192v1'), `EC key on curve prime192v1 (192 bits) is below the 224 bits ${LEVEL} requires`);
    assert.equal(key('ee-secp160r1'), `EC key on curve secp160r1 (160 bits) is below the 224 bits ${LEVEL} requires`);
    // No size to name: a curve whose name does not carry it, a key type Node does not describe (X9.42 DH).
    assert.equal(key('ee-wtls8'), `the certificate's key is too small for ${LEVEL} (ee key too small)`);
    assert.equal(key('ee-dh1024'), `the certificate's key is too small for ${LEVEL} (ee key too small)`);
  });

  test("a chain certificate's key too small: data[tls.crt], naming the first weak one (224-bit EC and 2048-bit RSA are enough)", () => {
    assert.deepEqual(securityLevelProblem(chain('ca-weak-root')), {
      field: 'data[tls.crt]',
      reason: `chain certificate 4 in tls.crt (CN "weak-root"): RSA key of 1024 bits is below the 2048 bits ${LEVEL} requires`,
    });
    assert.deepEqual(securityLevelProblem(chain('ca-ec-intermediate')), {
      field: 'data[tls.crt]',
      reason: `chain certificate 2 in tls.crt (CN "inter-secp160r1"): EC key on curve secp160r1 (160 bits) is below the 224 bits ${LEVEL} requires`,
    });
    assert.deepEqual(securityLevelProblem(chain('ca-wtls8')), {
      field: 'data[tls.crt]',
      reason: `a chain certificate's key is too small for ${LEVEL} (ca key too small)`,
    });
  });

  test('a weak signature: data[tls.crt], naming the certificate and the algorithm', () => {
    const sig = (name: string): string => {
      const p = securityLevelProblem(chain(name));
      assert.equal(p?.field, 'data[tls.crt]', name);
      return p.reason;
    };
    const refuses = `which ${LEVEL} refuses`;
    assert.equal(sig('md-sha1'), `the certificate (CN "sha1 leaf") is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    assert.equal(sig('md-md5'), `the certificate (CN "md5 leaf") is signed with MD5 (md5WithRSAEncryption), ${refuses}`);
    assert.equal(sig('md-ecdsa-sha1'), `the certificate (CN "ecdsa sha1 leaf") is signed with SHA-1 (ecdsa-with-SHA1), ${refuses}`);
    assert.equal(sig('md-dsa-sha1'), `the certificate (CN "dsa sha1 leaf") is signed with SHA-1 (dsa-with-SHA1), ${refuses}`);
    assert.equal(sig('md-sha1-intermediate'), `chain certificate 2 in tls.crt (CN "sha1-intermediate") is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    // A self-signed certificate is not judged by its own signature (nor by OpenSSL): the next one is named.
    assert.equal(sig('md-self-then-sha1'), `chain certificate 2 in tls.crt is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    // The CN: none, only the CN attribute (not "CN=" inside another), at most 64 characters of it, JSON-quoted.
    assert.equal(sig('md-sha1-no-cn'), `the certificate is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    assert.equal(sig('md-sha1-cn-in-o'), `the certificate (CN "real") is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    assert.equal(sig('md-sha1-long-cn'), `the certificate (CN ${JSON.stringify('\\,'.repeat(32))}) is signed with SHA-1 (sha1WithRSAEncryption), ${refuses}`);
    // RSA-PSS with SHA-1: too weak, but its algorithm identifier does not name the hash.
    assert.equal(sig('md-pss-sha1'), `a certificate in tls.crt has a signature too weak for ${LEVEL} (ca md too weak)`);
  });

  test('the older weak signature algorithms are named too', () => {
    // md-sha1's certificate with its outer signatureAlgorithm replaced: OpenSSL judges by that field.
    const [cert] = chain('md-sha1');
    const [tbs, , signature] = children(cert!.raw);
    const withAlgorithm = (oidText: string): X509Certificate =>
      new X509Certificate(tlv(0x30, tbs!, tlv(0x30, oid(oidText), Buffer.from([0x05, 0x00])), signature!));
    for (const [id, name] of [
      ['1.2.840.113549.1.1.2', 'MD2 (md2WithRSAEncryption)'],
      ['1.2.840.113549.1.1.3', 'MD4 (md4WithRSAEncryption)'],
      ['1.3.14.3.2.29', 'SHA-1 (sha1WithRSA)'],
    ] as const) {
      assert.deepEqual(securityLevelProblem([withAlgorithm(id)]), {
        field: 'data[tls.crt]',
        reason: `the certificate (CN "sha1 leaf") is signed with ${name}, which ${LEVEL} refuses`,
      });
    }
  });

  test('another reason OpenSSL gives is passed on', () => {
    assert.deepEqual(securityLevelProblem(chain('other-x25519')), {
      field: 'data[tls.crt]',
      reason: `tls.crt does not load under ${LEVEL} (unknown certificate type)`,
    });
  });
});

/** A DER tag-length-value, with the shortest length form (or `lengthBytes` long-form length octets). */
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derLength(n: number, lengthBytes?: number): Buffer {
  if (lengthBytes === undefined && n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  while (lengthBytes !== undefined && bytes.length < lengthBytes) bytes.unshift(0);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function oid(text: string): Buffer {
  const [a, b, ...rest] = text.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** The TLVs inside a constructed TLV (lengths as real certificates have them). */
function children(outer: Buffer): Buffer[] {
  const skip = (at: number): number => (outer[at + 1]! & 0x80 ? 2 + (outer[at + 1]! & 0x7f) : 2);
  const lengthAt = (at: number): number => {
    const first = outer[at + 1]!;
    if (!(first & 0x80)) return first;
    let len = 0;
    for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + outer[at + 2 + i]!;
    return len;
  };
  const out: Buffer[] = [];
  const contentEnd = skip(0) + lengthAt(0);
  for (let i = skip(0); i < contentEnd; ) {
    const end = i + skip(i) + lengthAt(i);
    out.push(outer.subarray(i, end));
    i = end;
  }
  return out;
}

void describe('signatureAlgorithm', () => {
  const of = (der: Buffer): string | undefined => signatureAlgorithm({ raw: der } as unknown as X509Certificate);
  const tbs = tlv(0x30, Buffer.from([0x02, 0x01, 0x01]));
  const algId = (o: Buffer = oid('2.999.3')): Buffer => tlv(0x30, o, Buffer.from([0x05, 0x00]));
  const body = (o?: Buffer): Buffer => Buffer.concat([tbs, algId(o)]);

  test('the outer signatureAlgorithm of real certificates', () => {
    assert.equal(signatureAlgorithm(chain('md-sha1')[0]!), '1.2.840.113549.1.1.5');
    assert.equal(signatureAlgorithm(chain('ok-rsa2048')[0]!), '1.2.840.113549.1.1.11');
    assert.equal(signatureAlgorithm(chain('md-ecdsa-sha1')[0]!), '1.2.840.10045.4.1');
  });

  test('short and long length forms, up to four length octets; arcs of the joint-iso-itu-t branch', () => {
    assert.equal(of(tlv(0x30, body())), '2.999.3');
    assert.equal(of(Buffer.concat([Buffer.from([0x30]), derLength(body().length, 4), body()])), '2.999.3');
    assert.equal(of(Buffer.concat([Buffer.from([0x30]), derLength(body().length, 1), body()])), '2.999.3');
    assert.equal(of(tlv(0x30, body(oid('2.5.4.3')))), '2.5.4.3');
  });

  test('anything DER does not allow, or not a certificate: undefined', () => {
    const b = body();
    assert.equal(of(Buffer.alloc(0)), undefined);
    assert.equal(of(Buffer.concat([Buffer.from([0x30, 0x80]), b])), undefined, 'indefinite length');
    assert.equal(of(Buffer.concat([Buffer.from([0x30]), derLength(b.length, 5), b])), undefined, 'five length octets');
    assert.equal(of(Buffer.concat([Buffer.from([0x30, b.length + 1]), b])), undefined, 'longer than the data');
    assert.equal(of(tlv(0x31, b)), undefined, 'not a SEQUENCE');
    assert.equal(of(tlv(0x30, Buffer.from([0x30, 0x05]))), undefined, 'tbsCertificate cut short');
    assert.equal(of(tlv(0x30, tbs)), undefined, 'no signatureAlgorithm');
    assert.equal(of(tlv(0x30, tbs, tlv(0x31, oid('2.999.3')))), undefined, 'signatureAlgorithm not a SEQUENCE');
    assert.equal(of(tlv(0x30, tbs, tlv(0x30))), undefined, 'signatureAlgorithm empty');
    assert.equal(of(tlv(0x30, tbs, tlv(0x30, tlv(0x04, Buffer.from([0x2a]))))), undefined, 'algorithm not an OBJECT IDENTIFIER');
    assert.equal(of(tlv(0x30, tbs, tlv(0x30, tlv(0x06, Buffer.from([0x81]))))), undefined, 'OID without a last octet');
    assert.equal(of(tlv(0x30, tbs, tlv(0x30, tlv(0x06)))), undefined, 'empty OID');
  });
});
