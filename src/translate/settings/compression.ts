// Response compression, controller-wide: ingress-nginx's gzip module (`use-gzip` and its companions, in the http
// block) and its brotli module. HAProxy 2.6 compresses with libslz in the listeners' frontends (`compression algo
// gzip`, `compression type`); it has no brotli encoder.
import { bool, integer, quote } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';
import { UNSUPPORTED } from './not-in-haproxy.js';

/** The most types one list may name: each is a word of a `compression type` line. */
const MAX_TYPES = 64;

/**
 * A MIME type as HAProxy's `compression type` line holds it: `type/subtype`, lowercase letters, digits and `. _ + -`.
 * RFC 6838 also allows `! # $ & ^`; `#` and `$` mean a comment and a variable to HAProxy's parser, and no registered
 * type uses any of the five.
 */
const MIME_TYPE = /^[a-z0-9][a-z0-9._+-]{0,63}\/[a-z0-9][a-z0-9._+-]{0,63}$/;

/** nginx's gzip_types: MIME types separated by spaces, or `*` for every type; text/html is always among them. */
export const mimeTypes: ValueGrammar<string[] | 'any'> = {
  describe: 'MIME types (type/subtype: letters, digits, . _ + -) separated by spaces, or *',
  parse: (raw) => {
    const words = raw.trim().split(/[ \t]+/).filter((w) => w !== '');
    if (words.length === 0) return { ok: false, reason: `${quote(raw)} names no MIME type` };
    if (words.includes('*')) return words.length === 1 ? { ok: true, value: 'any' } : { ok: false, reason: `${quote(raw)}: * stands alone (it means every type)` };
    if (words.length > MAX_TYPES) return { ok: false, reason: `${quote(raw)} names more than ${MAX_TYPES} types` };
    const types = new Set(['text/html']);
    for (const w of words) {
      const t = w.toLowerCase();
      if (!MIME_TYPE.test(t)) return { ok: false, reason: `${quote(raw)}: ${quote(w)} is not a MIME type (type/subtype: letters, digits, . _ + -)` };
      types.add(t);
    }
    return { ok: true, value: [...types].sort() };
  },
};

/** nginx's gzip_disable: regular expressions matched against User-Agent, read only to say what happens instead. */
const userAgentPatterns: ValueGrammar<string> = {
  describe: 'regular expressions separated by spaces (printable characters, up to 1024)',
  parse: (raw) => (/^[\x20-\x7e]{1,1024}$/.test(raw) ? { ok: true, value: raw.trim() } : { ok: false, reason: `${quote(raw)} is not printable text of at most 1024 characters` }),
};

const SLZ_LEVEL =
  "Debian's HAProxy compresses with libslz, which has a single level (about gzip's level 1, ingress-nginx's default): bodies are compressed at that level, a little larger than a higher level would make them.";

const NO_BROTLI = 'Portico does not compress with brotli: HAProxy 2.6 has no brotli encoder.';

export const COMPRESSION_SETTINGS = [
  setting({
    key: 'use-gzip',
    grammar: bool,
    set: (s, b) => (s.gzip = b),
    doc: {
      default: 'false',
      what:
        "`true`: a response is gzip-compressed when the client's Accept-Encoding allows gzip, its Content-Type is one of `gzip-types` (text/html always), its status 200 to 203, and the backend did not compress it already (HAProxy's `compression algo gzip` in both listeners' frontends); Content-Length then gives way to chunked transfer and `Vary: Accept-Encoding` is added, as nginx's `gzip_vary on`. A strong ETag becomes weak. Off, the configuration holds no compression line.",
      differences:
        "no minimum length: a body shorter than `gzip-min-length` (256 bytes by default) is compressed too. Statuses 200 to 203 are compressed, where nginx compresses 200, 403 and 404. A response with `Cache-Control: no-transform`, a backend's HTTP/1.0 response, a multipart Content-Type, or one to an old Mozilla/4 browser other than MSIE 6 SP2 and later is not compressed (HAProxy's rules, which nginx does not apply). A type matches when the Content-Type begins with it.",
      live: 'reload',
    },
  }),
  setting({
    key: 'gzip-level',
    grammar: integer(1, 9),
    set: () => undefined,
    notes: (n) => (n === 1 ? [] : [SLZ_LEVEL]),
    doc: { default: '1', what: 'The gzip compression level.', differences: `${SLZ_LEVEL} Any other level is reported (G4).`, live: 'none' },
  }),
  setting({
    key: 'gzip-min-length',
    grammar: integer(0, 2 ** 31 - 1),
    set: () => undefined,
    notes: (n) => (n <= 1 ? [] : [`responses shorter than ${n} bytes are compressed too: HAProxy 2.6 has no minimum length for compression`]),
    doc: { default: '256', what: 'The shortest response (by Content-Length) nginx compresses.', differences: 'HAProxy 2.6 has no minimum length: every response that qualifies is compressed, however short (reported with G4 for a minimum above 1).', live: 'none' },
  }),
  setting({
    key: 'gzip-types',
    grammar: mimeTypes,
    set: (s, t) => (s.gzipTypes = t),
    doc: {
      default: "ingress-nginx's list (application/json, application/javascript, text/css, text/plain, image/svg+xml, ...)",
      what: "The Content-Types `use-gzip` compresses (HAProxy's `compression type`), text/html always among them as in nginx; `*`: every type.",
      differences: 'a listed type also matches a Content-Type it begins (`text/html` matches `text/htmlx`); nginx compares the whole type. `#`, `$`, `!`, `&` and `^`, which RFC 6838 allows in a type, are refused (G1): no registered type uses them.',
      live: 'reload',
    },
  }),
  setting({
    key: 'gzip-disable',
    grammar: userAgentPatterns,
    set: () => undefined,
    notes: (v) => (v === 'msie6' ? [] : [`User-Agents matching ${quote(v)} still get compressed responses: HAProxy 2.6 decides by itself which browsers are too old for compression (Mozilla/4 other than MSIE 6 SP2 and later, which is what nginx's msie6 means)`]),
    doc: {
      default: 'none',
      what: "nginx's gzip_disable: User-Agents (regular expressions) never sent compressed responses.",
      differences: "only `msie6` is honoured, by HAProxy's own rule (it never compresses for Mozilla/4 browsers other than MSIE 6 SP2 and later); any other pattern is reported (G4) and not applied.",
      live: 'none',
    },
  }),
  setting({
    key: 'enable-brotli',
    grammar: bool,
    set: () => undefined,
    notes: (b) => (b ? [`responses are not brotli-compressed: ${NO_BROTLI} With use-gzip they are gzip-compressed for clients that accept gzip.`] : []),
    doc: { default: 'false', what: 'Brotli compression of responses.', differences: `${NO_BROTLI} \`true\` is reported (G4); use \`use-gzip\`.`, live: 'none', status: UNSUPPORTED },
  }),
  setting({
    key: 'brotli-level',
    grammar: integer(1, 11),
    set: () => undefined,
    doc: { default: '4', what: 'The brotli compression level.', noEffect: NO_BROTLI, live: 'none' },
  }),
  setting({
    key: 'brotli-min-length',
    grammar: integer(0, 2 ** 31 - 1),
    set: () => undefined,
    doc: { default: '20', what: 'The shortest response brotli compresses.', noEffect: NO_BROTLI, live: 'none' },
  }),
  setting({
    key: 'brotli-types',
    grammar: mimeTypes,
    set: () => undefined,
    doc: { default: "ingress-nginx's list", what: 'The Content-Types brotli compresses.', noEffect: NO_BROTLI, live: 'none' },
  }),
];
