// ssl-dh-param names a Secret (`namespace/name`) whose `dhparam.pem` holds Diffie-Hellman parameters for the DHE
// ciphers of TLS 1.2, as ingress-nginx reads it. Read after the settings through translate's lookup (which remembers
// it, so a change to the Secret reads the settings again). The parameters are parsed (DER: a SEQUENCE of the prime,
// the generator and an optional length), held to 2048-8192 bits and checked by OpenSSL (a safe prime with a suitable
// generator) before they are re-encoded as Portico writes PEM: a file HAProxy would refuse fails no configuration.
import { createDiffieHellman } from 'node:crypto';
import type { Obj } from '../../k8s/objects.js';
import { isObject } from '../../k8s/objects.js';
import type { Diagnostic, GlobalSettings } from '../../model/types.js';
import { objectRef } from '../diagnostics.js';

const KEY = 'dhparam.pem';
const PEM = /^\s*-----BEGIN DH PARAMETERS-----\r?\n([A-Za-z0-9+/=\r\n]{1,16384})-----END DH PARAMETERS-----\s*$/;
export const MIN_DH_BITS = 2048;
export const MAX_DH_BITS = 8192;

/** The value of `key` in a Secret: stringData as written, data decoded from base64 (undefined when not base64). */
function secretValue(secret: Obj, key: string): string | undefined {
  const stringData = isObject(secret.stringData) ? secret.stringData : {};
  if (typeof stringData[key] === 'string') return stringData[key];
  const data = isObject(secret.data) ? secret.data : {};
  const v = data[key];
  return typeof v === 'string' && /^[A-Za-z0-9+/=\s]{1,32768}$/.test(v) ? Buffer.from(v, 'base64').toString('latin1') : undefined;
}

/** DER's SEQUENCE of INTEGERs (definite lengths only), or undefined when the bytes are anything else. */
function integers(der: Buffer): Buffer[] | undefined {
  let at = 0;
  const length = (): number | undefined => {
    const first = der[at++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 2) return undefined;
    let l = 0;
    for (let k = 0; k < n; k++) l = l * 256 + (der[at++] ?? NaN);
    return Number.isNaN(l) ? undefined : l;
  };
  if (der[at++] !== 0x30) return undefined;
  const total = length();
  if (total === undefined || at + total !== der.length) return undefined;
  const out: Buffer[] = [];
  while (at < der.length) {
    if (der[at++] !== 0x02) return undefined;
    const l = length();
    if (l === undefined || l === 0 || at + l > der.length) return undefined;
    out.push(der.subarray(at, at + l));
    at += l;
  }
  return out;
}

/** PEM as Portico writes it: the DER in base64, 64 characters a line. */
function canonicalPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN DH PARAMETERS-----\n${lines.join('\n')}\n-----END DH PARAMETERS-----\n`;
}

/** Parameters from PEM text, or why not. */
export function parseDhParams(text: string): { pem: string; bits: number } | { reason: string } {
  const m = PEM.exec(text);
  if (!m) return { reason: 'is not one PEM block of DH PARAMETERS' };
  const der = Buffer.from(m[1]!.replace(/\s/g, ''), 'base64');
  const ints = integers(der);
  if (!ints || ints.length < 2 || ints.length > 3) return { reason: 'is not DH parameters (a prime and a generator)' };
  const [prime, generator] = [ints[0]!, ints[1]!];
  const p = prime[0] === 0 ? prime.subarray(1) : prime;
  const bits = p.length * 8 - Math.clz32(p[0] ?? 0) + 24;
  if (bits < MIN_DH_BITS || bits > MAX_DH_BITS) return { reason: `has a ${bits}-bit prime, outside ${MIN_DH_BITS} to ${MAX_DH_BITS} bits` };
  if (generator.length > 4) return { reason: 'has a generator longer than 4 bytes' };
  let verifyError: number;
  try {
    verifyError = createDiffieHellman(p, generator).verifyError;
  } catch {
    return { reason: 'is refused by OpenSSL' };
  }
  if (verifyError !== 0) return { reason: `is refused by OpenSSL's check (${verifyError}: not a safe prime, or an unsuitable generator)` };
  return { pem: canonicalPem(der), bits };
}

/** The Secret ssl-dh-param names (`namespace/name`): what readDhParam reads. */
export function dhParamReference(settings: GlobalSettings): { key: string; kind: 'Secret'; name: string }[] {
  return settings.sslDhParamSecret === undefined ? [] : [{ key: 'ssl-dh-param', kind: 'Secret', name: settings.sslDhParamSecret }];
}

/**
 * Fills `settings.sslDhParam` from the Secret `ssl-dh-param` names. A Secret that does not exist, without
 * `dhparam.pem`, or with parameters that fail the checks leaves HAProxy's built-in 2048-bit group in use, with a
 * warning (rule ssl-dh-param), as ingress-nginx logs it and writes no ssl_dhparam.
 */
export function readDhParam(settings: GlobalSettings, lookup: (key: string) => Obj | undefined, settingsObject: string): Diagnostic[] {
  const key = settings.sslDhParamSecret;
  if (key === undefined) return [];
  const secret = lookup(key);
  const fallback = "HAProxy's built-in 2048-bit group (RFC 7919's ffdhe2048) is used until it is fixed";
  if (!secret) return [{ level: 'warning', object: settingsObject, field: 'data[ssl-dh-param]', rule: 'ssl-dh-param', message: `Secret ${key} was not found: ${fallback}` }];
  const slash = key.indexOf('/');
  const object = objectRef('Secret', { namespace: key.slice(0, slash), name: key.slice(slash + 1) });
  const text = secretValue(secret, KEY);
  if (text === undefined) return [{ level: 'warning', object, field: `data[${KEY}]`, rule: 'ssl-dh-param', message: `the Secret has no ${KEY}: ${fallback}` }];
  const parsed = parseDhParams(text);
  if ('reason' in parsed) return [{ level: 'warning', object, field: `data[${KEY}]`, rule: 'ssl-dh-param', message: `${KEY} ${parsed.reason}: ${fallback}` }];
  settings.sslDhParam = parsed.pem;
  return [];
}
