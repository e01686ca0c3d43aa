// TLS and the redirect to HTTPS, controller-wide: the keys ingress-nginx's http block and its default server read.
import type { GlobalSettings } from '../../model/types.js';
import { bool, integer, quote } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { cipherList } from '../annotations/tls-ciphers.js';
import { setting } from './registry.js';

const KNOWN_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
const OFFERED = ['TLSv1.2', 'TLSv1.3'] as const;
type Offered = (typeof OFFERED)[number];

interface Protocols {
  min: Offered;
  max: Offered;
  /** Versions listed that HAProxy here will not offer. */
  dropped: string[];
}

/** nginx's ssl_protocols: protocol names separated by spaces, of which TLS 1.2 and 1.3 can be offered. */
const protocols: ValueGrammar<Protocols> = {
  describe: 'TLS versions separated by spaces, such as "TLSv1.2 TLSv1.3"',
  parse: (raw) => {
    const words = raw.trim().split(/ +/);
    const unknown = words.find((w) => !(KNOWN_PROTOCOLS as readonly string[]).includes(w));
    if (unknown !== undefined) return { ok: false, reason: `${quote(raw)}: ${quote(unknown)} is not one of ${KNOWN_PROTOCOLS.join(', ')}` };
    const offered = OFFERED.filter((v) => words.includes(v));
    if (offered.length === 0) return { ok: false, reason: `${quote(raw)} names no version Portico offers (TLSv1.2, TLSv1.3)` };
    return { ok: true, value: { min: offered[0]!, max: offered[offered.length - 1]!, dropped: [...new Set(words.filter((w) => !(OFFERED as readonly string[]).includes(w)))] } };
  },
};

const REDIRECT_CODES = [301, 302, 307, 308] as const;
const redirectCode: ValueGrammar<GlobalSettings['httpRedirectCode'] & number> = {
  describe: '301, 302, 307 or 308',
  parse: (raw) => {
    const n = Number(raw);
    return /^\d{3}$/.test(raw) && (REDIRECT_CODES as readonly number[]).includes(n) ? { ok: true, value: n as 301 | 302 | 307 | 308 } : { ok: false, reason: `${quote(raw)} is not 301, 302, 307 or 308` };
  },
};

export const TLS_SETTINGS = [
  setting({
    key: 'ssl-protocols',
    grammar: protocols,
    set: (s, p) => (s.tlsVersions = { min: p.min, max: p.max }),
    notes: (p) => (p.dropped.length > 0 ? [`${p.dropped.join(', ')} ${p.dropped.length === 1 ? 'is' : 'are'} not offered: Portico's listener speaks TLS 1.2 and 1.3 only (OpenSSL 3 refuses the older versions at its default security level)`] : []),
    doc: {
      default: '`--ssl-protocols` (TLSv1.2 TLSv1.3)',
      what: 'The TLS versions the HTTPS listener accepts: the lowest and highest listed (HAProxy sets a range, so `TLSv1.2 TLSv1.3` and a gap cannot differ). A client that offers only other versions fails the handshake.',
      differences: 'SSLv2 to TLSv1.1 are never offered, even when listed (reported with G4).',
      live: 'reload',
    },
  }),
  setting({
    key: 'ssl-ciphers',
    grammar: cipherList,
    set: (s, c) => (s.sslCiphers = c),
    doc: { default: "`--ssl-ciphers` (ingress-nginx's default list)", what: 'The TLS 1.2 cipher suites of every host without its own `ssl-ciphers` annotation, in OpenSSL\'s syntax; OpenSSL checks the list when it is read, and one that selects no cipher is refused (G1).', live: 'reload' },
  }),
  setting({
    key: 'hsts',
    grammar: bool,
    set: (s, b) => (s.hsts = b),
    doc: { default: '`--hsts` (true)', what: 'Strict-Transport-Security on HTTPS responses of hosts listed in a tls block.', live: 'reload' },
  }),
  setting({
    key: 'hsts-max-age',
    grammar: integer(0, 10 * 365 * 86400),
    set: (s, n) => (s.hstsMaxAge = n),
    doc: { default: '`--hsts-max-age` (31536000)', what: 'max-age of that header, in seconds.', differences: 'at most ten years (315360000); ingress-nginx writes any text it is given.', live: 'reload' },
  }),
  setting({
    key: 'hsts-include-subdomains',
    grammar: bool,
    set: (s, b) => (s.hstsIncludeSubdomains = b),
    doc: { default: '`--hsts-include-subdomains` (true)', what: '`includeSubDomains` in that header.', live: 'reload' },
  }),
  setting({
    key: 'hsts-preload',
    grammar: bool,
    set: (s, b) => (s.hstsPreload = b),
    doc: { default: '`--hsts-preload` (false)', what: '`preload` in that header.', live: 'reload' },
  }),
  setting({
    key: 'ssl-redirect',
    grammar: bool,
    set: (s, b) => (s.sslRedirect = b),
    doc: { default: '`--ssl-redirect` (true)', what: 'The default of the `ssl-redirect` annotation: plain-HTTP requests to hosts listed in a tls block are redirected to HTTPS (rule T9).', live: 'routes' },
  }),
  setting({
    key: 'force-ssl-redirect',
    grammar: bool,
    set: (s, b) => (s.forceSslRedirect = b),
    doc: { default: 'false', what: 'The default of the `force-ssl-redirect` annotation: every plain-HTTP request is redirected to HTTPS, with or without a tls block.', live: 'routes' },
  }),
  setting({
    key: 'http-redirect-code',
    grammar: redirectCode,
    set: (s, n) => (s.httpRedirectCode = n),
    doc: { default: '308', what: 'The status of the redirect to HTTPS (rule T9, `ssl-redirect`, `force-ssl-redirect`) and of `from-to-www-redirect`.', live: 'reload' },
  }),
];
