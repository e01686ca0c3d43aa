// ssl-ciphers and ssl-prefer-server-ciphers: the TLS 1.2-and-below cipher list a host's handshakes offer (nginx's
// ssl_ciphers in the host's server block). The value becomes configuration text (a crt-list option), so it passes a
// grammar and then OpenSSL itself: HAProxy refuses a whole configuration, or a runtime `add ssl crt-list`, over a
// list that selects no cipher, and one tenant's typo must not hold back every other tenant's changes.
import { createSecureContext } from 'node:tls';
import { annotation } from './registry.js';
import { bool, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** One element of an OpenSSL cipher list: an optional `!`, `-` or `+`, then names joined by `+` (`ECDHE+AESGCM`), or
 * a `@STRENGTH` / `@SECLEVEL=n` command. ingress-nginx's grammar allows the same characters. */
const ELEMENT = /^(?:[!+-]?[A-Za-z0-9_-]+(?:\+[A-Za-z0-9_-]+)*|@STRENGTH|@SECLEVEL=[0-5])$/;

/** What OpenSSL says of a list, once per distinct list (translate sees the same value on many Ingresses). */
const checked = new Map<string, string | undefined>();

/** Why OpenSSL (Node's, the same 3.0 series as HAProxy's) refuses the list, or undefined when it selects a cipher. */
function openSslRefusal(list: string): string | undefined {
  if (checked.has(list)) return checked.get(list);
  let why: string | undefined;
  try {
    createSecureContext({ ciphers: list });
  } catch (e) {
    why = e instanceof Error ? e.message.replace(/^error:[0-9A-F]+:SSL routines::/, '') : 'refused';
  }
  if (checked.size >= 1000) checked.clear();
  checked.set(list, why);
  return why;
}

/** An OpenSSL cipher list for TLS 1.2 and below, such as `ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256`
 * or `HIGH:!aNULL:!MD5`, that selects at least one cipher. */
export const cipherList: ValueGrammar<string> = {
  describe: 'an OpenSSL cipher list for TLS 1.2 and below (names and aliases joined by `:`, with `!`, `-`, `+`, `@STRENGTH`, `@SECLEVEL=n`)',
  parse: (raw) => {
    const list = trimSpaces(raw);
    if (list.length > 2048) return { ok: false, reason: `${quote(raw)} is longer than 2048 characters` };
    const elements = list.split(/[:,]/);
    const bad = elements.find((e) => !ELEMENT.test(e));
    if (bad !== undefined) return { ok: false, reason: `${quote(raw)} is not an OpenSSL cipher list: ${quote(bad)} is not a cipher name, an alias or a command` };
    // nginx's ssl_ciphers (and HAProxy's `ciphers`) set TLS 1.2 and below only: a TLS 1.3 suite there selects
    // nothing, and alone it would fail nginx's configuration test as it would fail HAProxy's.
    const tls13 = elements.find((e) => /^[!+-]?TLS_/.test(e));
    if (tls13 !== undefined) return { ok: false, reason: `${quote(raw)}: ${quote(tls13)} is a TLS 1.3 cipher suite, which ssl-ciphers does not set (as nginx's ssl_ciphers, it lists TLS 1.2 and older ciphers)` };
    const why = openSslRefusal(elements.join(':'));
    if (why !== undefined) return { ok: false, reason: `${quote(raw)} is refused by OpenSSL (${why}): it selects no cipher` };
    return { ok: true, value: elements.join(':') };
  },
};

export const TLS_CIPHER_ANNOTATIONS = [
  annotation({
    name: 'ssl-ciphers',
    scope: 'ingress',
    grammar: cipherList,
    set: (v, x) => (v.sslCiphers = x),
    doc: {
      default: "the listener's (`--ssl-ciphers`: ingress-nginx's default list)",
      what:
        "The ciphers the TLS handshakes of this Ingress's hosts offer for TLS 1.2 and below, as nginx's ssl_ciphers in the host's server block; the oldest Ingress on a host that sets it decides for the host (its aliases included), as ingress-nginx keeps the first. The list must select at least one cipher in OpenSSL (HAProxy would refuse it, as nginx would). Live: a changed list is a runtime update of the host's crt-list line, no reload.",
      differences:
        "TLS 1.3 suites in the list are refused with A1 (nginx's ssl_ciphers does not set them either, and a list of them alone fails its configuration test); a list OpenSSL refuses is A1 too, and the host keeps the listener's list, where ingress-nginx's reload would fail for every host. `,` is read as `:`, as OpenSSL does.",
    },
  }),
  annotation({
    name: 'ssl-prefer-server-ciphers',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.sslPreferServerCiphers = x),
    notesRule: 'A6',
    notes: (x) => (x ? [] : ['ssl-prefer-server-ciphers "false": HAProxy always uses its own cipher order (server preference) per host; the handshake keeps the server\'s order']),
    doc: {
      default: 'true',
      what: "Whether the server's cipher order wins over the client's in TLS 1.2 handshakes.",
      noEffect:
        "HAProxy prefers the server's order on every host, which is `true` (ingress-nginx's default, from its ConfigMap); `false` cannot be set per host in HAProxy 2.6 (prefer-client-ciphers is a listener-wide option), so it is reported (warning A6) and the server's order still wins.",
    },
  }),
];
