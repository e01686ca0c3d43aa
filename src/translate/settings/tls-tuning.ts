// TLS tuning of the HTTPS listener, controller-wide: session resumption, key exchange groups, DH parameters, and
// what Portico keeps off on purpose (session tickets, 0-RTT).
import { createSecureContext } from 'node:tls';
import { bool, quote, size, trimSpaces } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';
import { namespacedName } from './http.js';

/** nginx: one MB of session cache holds about 4,000 sessions; HAProxy's cache is counted in sessions. */
export const BYTES_PER_SESSION = 256;
const MAX_CACHE_BYTES = 256 * 1024 ** 2;
/** RFC 8446 (4.6.1): a resumption ticket lives at most seven days. */
const MAX_SESSION_SECONDS = 7 * 86_400;

/** An nginx time (`10m`, `300s`, `1h`, `1d`, or seconds) in whole seconds, 1 s to seven days. */
const sessionTime: ValueGrammar<number> = {
  describe: 'an nginx time such as 10m, 300s or 1h',
  parse: (raw) => {
    const m = /^(\d{1,7})(s|m|h|d)?$/.exec(trimSpaces(raw));
    const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] ?? 's']! : NaN;
    return seconds >= 1 && seconds <= MAX_SESSION_SECONDS ? { ok: true, value: seconds } : { ok: false, reason: `${quote(raw)} is not an nginx time from 1s to 7d, such as 10m, 300s or 1h` };
  },
};

/** OpenSSL group names joined by `:` (nginx's ssl_ecdh_curve), each known to the OpenSSL HAProxy links, or `auto`. */
export const curveList: ValueGrammar<string | undefined> = {
  describe: 'auto, or OpenSSL curve names joined by ":", such as "X25519:prime256v1"',
  parse: (raw) => {
    const v = trimSpaces(raw);
    if (v === 'auto') return { ok: true, value: undefined };
    if (!/^[A-Za-z0-9_-]{1,32}(:[A-Za-z0-9_-]{1,32}){0,15}$/.test(v)) return { ok: false, reason: `${quote(raw)} is not auto or curve names joined by ":"` };
    try {
      // The same OpenSSL as HAProxy's (3.x here): a name it does not know would fail HAProxy's configuration check.
      createSecureContext({ ecdhCurve: v });
    } catch {
      return { ok: false, reason: `${quote(raw)} names a curve OpenSSL does not know` };
    }
    return { ok: true, value: v };
  },
};

const TICKETS_OFF =
  "Portico keeps TLS session tickets off: HAProxy's ticket key is made at start and never rotated, so one key would protect every session until the next reload, undoing forward secrecy; sessions resume from the server's cache instead (`ssl-session-cache`).";
const NO_EARLY_DATA =
  'Portico keeps TLS 1.3 early data (0-RTT) off: a request in early data can be replayed by anyone who recorded it, and Portico cannot know which backends are safe against a replayed POST; nginx passes `Early-Data: 1` and leaves that to every backend.';

/** nginx's ssl_session_ticket_key as ingress-nginx writes it: base64 of 48 or 80 bytes (read, never used). */
const ticketKey: ValueGrammar<string> = {
  describe: 'base64 of 48 or 80 bytes',
  parse: (raw) => {
    const ok = /^[A-Za-z0-9+/]{1,200}={0,2}$/.test(raw) && [48, 80].includes(Buffer.from(raw, 'base64').length);
    return ok ? { ok: true, value: raw } : { ok: false, reason: `${quote(raw.length > 60 ? `${raw.slice(0, 60)}...` : raw)} is not base64 of 48 or 80 bytes` };
  },
};

export const TLS_TUNING_SETTINGS = [
  setting({
    key: 'ssl-session-cache',
    grammar: bool,
    set: (s, b) => (s.sslSessionCache = b),
    doc: { default: 'true', what: "`false`: no TLS session is kept (`tune.ssl.cachesize 0`), so every connection takes a full handshake; `true`: sessions resume from HAProxy's cache.", live: 'reload' },
  }),
  setting({
    key: 'ssl-session-cache-size',
    grammar: size(MAX_CACHE_BYTES),
    set: (s, n) => (s.sslSessionCacheSessions = Math.max(1, Math.floor(n / BYTES_PER_SESSION))),
    doc: {
      default: "HAProxy's (20000 sessions)",
      what: `The size of the TLS session cache, as an nginx size; HAProxy counts sessions, one per ${BYTES_PER_SESSION} bytes (nginx's 1 MB holds about 4,000).`,
      differences: "unset, HAProxy's 20,000 sessions apply, about ingress-nginx's 10m (40,000) halved.",
      live: 'reload',
    },
  }),
  setting({
    key: 'ssl-session-timeout',
    grammar: sessionTime,
    set: (s, n) => (s.sslSessionTimeout = n),
    doc: { default: "HAProxy's (300 s)", what: 'How long a cached TLS session may be resumed (`tune.ssl.lifetime`), at most seven days.', differences: "unset, HAProxy's 5 minutes apply where ingress-nginx's default is 10m.", live: 'reload' },
  }),
  setting({
    key: 'ssl-session-tickets',
    grammar: bool,
    set: () => undefined,
    notes: (b) => (b ? [TICKETS_OFF] : []),
    doc: { default: 'false', what: 'Read and checked; `false` is what Portico does.', differences: `\`true\` is not honoured (G4). ${TICKETS_OFF}`, live: 'none' },
  }),
  setting({
    key: 'ssl-session-ticket-key',
    grammar: ticketKey,
    set: () => undefined,
    notes: () => [TICKETS_OFF],
    doc: { default: 'none (a random key in ingress-nginx)', what: 'The key of TLS session tickets (base64 of 48 or 80 bytes).', differences: `not used: session tickets stay off, so a set key is reported (G4). ${TICKETS_OFF}`, live: 'none', status: 'unsupported: warning G4' },
  }),
  setting({
    key: 'ssl-ecdh-curve',
    grammar: curveList,
    set: (s, c) => {
      if (c !== undefined) s.sslCurves = c;
    },
    doc: { default: 'auto', what: "The key exchange groups the HTTPS listener offers (`ssl-default-bind-curves`), in OpenSSL's names joined by `:`; `auto` is OpenSSL's list. A client that supports none of them fails the handshake. A name OpenSSL does not know is refused (G1).", live: 'reload' },
  }),
  setting({
    key: 'ssl-dh-param',
    grammar: namespacedName,
    set: (s, key) => (s.sslDhParamSecret = key),
    doc: {
      default: "HAProxy's built-in 2048-bit group (RFC 7919's ffdhe2048)",
      what: "A Secret (`namespace/name`) whose `dhparam.pem` holds the Diffie-Hellman parameters of the TLS 1.2 DHE ciphers (`ssl-dh-param-file`), as `openssl dhparam` writes them. The Secret is watched: a change to it applies as a change of this key does.",
      differences:
        'The parameters must be a safe prime of 2048 to 8192 bits with a suitable generator (OpenSSL checks them when they are read); a Secret that is missing, has no `dhparam.pem` or fails the checks leaves the built-in group in use, with a warning (rule ssl-dh-param), where a bad file fails ingress-nginx\'s reload.',
      live: 'reload',
    },
  }),
  setting({
    key: 'ssl-early-data',
    grammar: bool,
    set: () => undefined,
    notes: (b) => (b ? [NO_EARLY_DATA] : []),
    doc: { default: 'false', what: 'Read and checked; `false` is what Portico does.', differences: `\`true\` is not honoured (G4). ${NO_EARLY_DATA}`, live: 'none' },
  }),
];
