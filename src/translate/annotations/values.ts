// The value grammars annotations (and, later, ConfigMap keys) are parsed with, in one place. Each accepts exactly
// what ingress-nginx's validators accept where that is safe (its parser package: strconv.ParseBool, strconv.Atoi,
// time.ParseDuration, its size and CIDR rules). None admits a line break or any other control character. What a
// value may hold beyond that is the grammar's own: header values and URLs may hold quotes, `#` or `%`, so a feature
// that writes one into configuration text must escape it there, or keep it in a map (as the redirect URL is, whose
// own grammar admits none of them).
import { isIP } from 'node:net';
import { isDns1123Subdomain, isIpAddress, isWildcardDns1123Subdomain } from '../grammar.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ValueGrammar<T> {
  /** What the grammar accepts, for messages: `"true" or "false"`. */
  describe: string;
  parse(raw: string): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, which ingress-nginx reads booleans with: `"True"` and `"1"` count too. */
export const bool: ValueGrammar<boolean> = {
  describe: '"true" or "false"',
  parse: (raw) => (TRUE.has(raw) ? ok(true) : FALSE.has(raw) ? ok(false) : fail(`${quote(raw)} is not "true" or "false"`)),
};

/** A whole number in [min, max], written as Go's strconv.Atoi reads it (an optional sign, decimal digits). */
export function integer(min: number, max: number): ValueGrammar<number> {
  const describe = `a whole number from ${min} to ${max}`;
  return {
    describe,
    parse: (raw) => {
      if (!/^[+-]?\d{1,16}$/.test(raw)) return fail(`${quote(raw)} is not ${describe}`);
      const n = Number(raw);
      return n >= min && n <= max ? ok(n) : fail(`${quote(raw)} is not ${describe}`);
    },
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** An nginx size (`1000`, `8k`, `1m`, `2g`; unit letters in either case), in bytes, up to `max`. */
export function size(max: number): ValueGrammar<number> {
  const describe = 'an nginx size such as 1000, 8k, 1m or 1g';
  return {
    describe,
    parse: (raw) => {
      const m = /^(\d{1,13})([bkmgBKMG]?)$/.exec(raw);
      if (!m) return fail(`${quote(raw)} is not ${describe}`);
      const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
      return bytes <= max ? ok(bytes) : fail(`${quote(raw)} is larger than ${max} bytes`);
    },
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`300ms`, `1.5h`, `2h45m`), as ingress-nginx's ValidateDuration reads it, in milliseconds up to `maxMs`. */
export function duration(maxMs: number): ValueGrammar<number> {
  const describe = 'a duration such as 500ms, 30s, 5m or 1h30m';
  return {
    describe,
    parse: (raw) => {
      if (raw === '0') return ok(0);
      // Go's forms: an optional `+`, and numbers such as `1.5`, `.5` or `5.`.
      if (!/^\+?((\d{1,9}(\.\d{0,9})?|\.\d{1,9})(ns|us|µs|μs|ms|s|m|h)){1,6}$/.test(raw)) return fail(`${quote(raw)} is not ${describe}`);
      let ms = 0;
      for (const [, n, unit] of raw.matchAll(/(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(n) * DURATION_UNITS[unit!]!;
      return ms <= maxMs ? ok(ms) : fail(`${quote(raw)} is longer than ${maxMs} ms`);
    },
  };
}

/** One of a fixed set of words (ingress-nginx's ValidateOptions), compared in lowercase, spaces around it ignored. */
export function oneOf<const W extends string>(words: readonly W[]): ValueGrammar<W> {
  const describe = `one of ${words.map((w) => `"${w}"`).join(', ')}`;
  return {
    describe,
    parse: (raw) => {
      // Spaces only: ingress-nginx's TrimSpace would also drop a line break, which no grammar here admits.
      const w = trimSpaces(raw).toLowerCase();
      return (words as readonly string[]).includes(w) ? ok(w as W) : fail(`${quote(raw)} is not ${describe}`);
    },
  };
}

/** A comma-separated list of IP addresses and CIDR blocks (IPv4 or IPv6), spaces around commas allowed; canonical
 * CIDR strings out (`10.0.0.1` becomes `10.0.0.1/32`). */
export const cidrList: ValueGrammar<string[]> = {
  describe: 'a comma-separated list of IP addresses or CIDR blocks',
  parse: (raw) => {
    const out: string[] = [];
    for (const part of raw.split(',')) {
      // Spaces only: a tab or a line break around an item is refused, as everywhere else.
      const item = trimSpaces(part);
      const [address = '', bits, extra] = item.split('/');
      // A zone (`fe80::1%eth0`) is no part of a CIDR block; Go's parser refuses it too.
      const family = address.includes('%') ? 0 : isIP(address);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max)))
        return fail(`${quote(item)} in ${quote(raw)} is not an IP address or CIDR block`);
      out.push(`${address}/${bits === undefined ? max : Number(bits)}`);
    }
    return ok(out);
  },
};

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/** An HTTP header name (RFC 9110's token), lowercased. */
export const headerName: ValueGrammar<string> = {
  describe: 'an HTTP header name',
  parse: (raw) => (TOKEN.test(raw) ? ok(raw.toLowerCase()) : fail(`${quote(raw)} is not an HTTP header name`)),
};

/** An HTTP header value: visible ASCII and inner spaces or tabs (RFC 9110 field-value, without obsolete text). */
export const headerValue: ValueGrammar<string> = {
  describe: 'an HTTP header value (visible ASCII characters and spaces)',
  parse: (raw) =>
    /^[\x21-\x7e]([\x20\x21-\x7e\t]{0,4094}[\x21-\x7e])?$/.test(raw) ? ok(raw) : fail(`${quote(raw)} is not a header value of visible ASCII characters and spaces`),
};

/** An absolute http or https URL with a host, as a URL object's href (so the text is canonical). */
export const httpUrl: ValueGrammar<string> = {
  describe: 'an absolute http:// or https:// URL',
  parse: (raw) => {
    if (!/^https?:\/\/[\x21-\x7e]{1,2040}$/i.test(raw)) return fail(`${quote(raw)} is not an absolute http:// or https:// URL`);
    // WHATWG URL parsing would make `https:///x` into `https://x/`; a host must be written.
    if (/^https?:\/\/[/?#]/i.test(raw)) return fail(`${quote(raw)} has no host`);
    try {
      const u = new URL(raw);
      return u.hostname === '' ? fail(`${quote(raw)} has no host`) : ok(u.href);
    } catch {
      return fail(`${quote(raw)} is not an absolute http:// or https:// URL`);
    }
  },
};

// ingress-nginx's URLIsValidRegex: unreserved characters and `/ : ? & =`. No `%`, `#`, `;`, quote or space: the
// value can travel as one word through a map file and the runtime API, and HAProxy's log-format never sees a `%`.
const REDIRECT_URL = /^https?:\/\/[-._~A-Za-z0-9/:?&=]{1,2040}$/;

/** A redirect target as ingress-nginx's redirect annotations accept it, an http:// or https:// URL with a host. */
export const redirectUrl: ValueGrammar<string> = {
  describe: 'an http:// or https:// URL of letters, digits and - . _ ~ / : ? & =',
  parse: (raw) => {
    if (!REDIRECT_URL.test(raw)) return fail(`${quote(raw)} is not an http:// or https:// URL of letters, digits and - . _ ~ / : ? & =`);
    const host = raw.slice(raw.indexOf('//') + 2).split(/[/?]/)[0]!;
    return host === '' || host.startsWith(':') ? fail(`${quote(raw)} has no host`) : ok(raw);
  },
};

const REWRITE_TARGET = /^\/[-._~A-Za-z0-9/:$]{0,2047}$/;

/**
 * A path a request is rewritten to (rewrite-target) or a path prefix (x-forwarded-prefix): ingress-nginx's
 * `RegexPathWithCapture` (letters, digits, `- . _ ~ / : $`), where `$1`-`$9` stand for the path's capture groups.
 * Portico also requires the leading `/` that ingress-nginx leaves optional: without it nginx sends a request line
 * without one.
 */
export const rewritePath: ValueGrammar<string> = {
  describe: 'a path starting with "/" of letters, digits and - . _ ~ / : $ ($1-$9: capture groups)',
  parse: (raw) => (REWRITE_TARGET.test(raw) ? ok(raw) : fail(`${quote(raw)} is not a path starting with "/" of letters, digits and - . _ ~ / : $`)),
};

/**
 * Host names (server-alias): comma-separated DNS-1123 subdomains or one-label wildcards (`*.example.com`), spaces
 * around items allowed; lowercased, each once, in order. ingress-nginx also takes nginx's regular-expression server
 * names, which no grammar here admits.
 */
export const hostList: ValueGrammar<string[]> = {
  describe: 'a comma-separated list of host names (a.example.com) or one-label wildcards (*.example.com)',
  parse: (raw) => {
    if (raw.length > 16_384) return fail(`${quote(raw)} is longer than 16384 characters`);
    const out: string[] = [];
    for (const item of raw.split(',').map((i) => trimSpaces(i).toLowerCase()).filter((i) => i !== '')) {
      if (!(isDns1123Subdomain(item) || isWildcardDns1123Subdomain(item)) || isIpAddress(item)) return fail(`${quote(item)} in ${quote(raw)} is not a host name or a one-label wildcard`);
      if (!out.includes(item)) out.push(item);
    }
    return out.length > 0 ? ok(out) : fail(`${quote(raw)} names no host`);
  },
};

const APP_PATH = /^\/[-._~A-Za-z0-9/:]{0,2047}$/;

/** A path to redirect to (app-root): a `/` and letters, digits and `- . _ ~ / :`. */
export const appPath: ValueGrammar<string> = {
  describe: 'a path starting with "/" of letters, digits and - . _ ~ / :',
  parse: (raw) => (APP_PATH.test(raw) ? ok(raw) : fail(`${quote(raw)} is not a path starting with "/" of letters, digits and - . _ ~ / :`)),
};

const HOST_AND_PORT = /^[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?(:\d{1,5})?$/;

/** A host name (letters, digits, `-` and `.`) with an optional `:port` (1-65535), as written. */
export const hostAndPort: ValueGrammar<string> = {
  describe: 'a host name with an optional :port',
  parse: (raw) => {
    const port = raw.includes(':') ? Number(raw.slice(raw.indexOf(':') + 1)) : 1;
    return HOST_AND_PORT.test(raw) && port >= 1 && port <= 65535 && !raw.includes('..') ? ok(raw) : fail(`${quote(raw)} is not a host name with an optional :port`);
  },
};

/** `raw` without the spaces around it (not tabs or line breaks, which JavaScript's trim() removes too). */
export function trimSpaces(raw: string): string {
  // Index walks, not / +$/: that regex backtracks quadratically over a long run of spaces followed by anything else.
  let start = 0;
  let end = raw.length;
  while (start < end && raw[start] === ' ') start++;
  while (end > start && raw[end - 1] === ' ') end--;
  return raw.slice(start, end);
}

/** Longest list value read: far more than any real list, small enough that no list costs real time or memory. */
const MAX_LIST = 16_384;

/**
 * A comma-separated list whose items each match `item` (spaces around items allowed, empty items skipped, at least
 * one item), in canonical form: the items joined by `,` without spaces. That form is the same list to an HTTP reader
 * (RFC 9110 lists) and, holding no whitespace, travels as one word through a map file and the runtime API.
 */
export function commaList(what: string, item: RegExp): ValueGrammar<string> {
  const describe = `a comma-separated list of ${what}`;
  return {
    describe,
    parse: (raw) => {
      if (raw.length > MAX_LIST) return fail(`${quote(raw)} is longer than ${MAX_LIST} characters`);
      const items = raw.split(',').map(trimSpaces).filter((i) => i !== '');
      if (items.length === 0) return fail(`${quote(raw)} is not ${describe}`);
      const bad = items.find((i) => !item.test(i));
      if (bad === undefined) return ok(items.join(','));
      return fail(bad === raw ? `${quote(raw)} is not ${describe}` : `${quote(bad)} in ${quote(raw)} is not one of ${what}`);
    },
  };
}

/** HTTP methods as ingress-nginx's cors-allow-methods takes them: letters only, case kept (methods are case-sensitive). */
export const methodList = commaList('HTTP methods (letters)', /^[A-Za-z]{1,32}$/);
/** Header names as ingress-nginx's header lists take them: letters, digits, `-` and `_`. */
export const headerNameList = commaList('header names (letters, digits, - and _)', /^[A-Za-z0-9_-]{1,256}$/);
/** As headerNameList, and `*` (cors-expose-headers: every header). */
export const headerNameOrStarList = commaList('header names (letters, digits, - and _) or *', /^([A-Za-z0-9_-]{1,256}|\*)$/);

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
// `scheme://host[:port]`, the host's first label possibly `*` (exactly one label), as a browser serialises an origin.
const ORIGIN = new RegExp(`^[a-z][a-z0-9+.-]{0,31}://(\\*\\.)?${LABEL}(\\.${LABEL})*(:(?<port>\\d{1,5}))?$`);

/**
 * A CORS origin list (cors-allow-origin): `*` (any origin), or origins `scheme://host[:port]`, a first label `*`
 * standing for exactly one DNS label (`https://*.example.com`), or `null`; comma-separated, lowercased. `*` anywhere
 * in the list means any origin, as in ingress-nginx.
 */
export const originList: ValueGrammar<'*' | string[]> = {
  describe: 'a comma-separated list of origins such as https://example.com, https://*.example.com:8443 or null, or *',
  parse: (raw) => {
    if (raw.length > MAX_LIST) return fail(`${quote(raw)} is longer than ${MAX_LIST} characters`);
    const items = raw.split(',').map((i) => trimSpaces(i).toLowerCase()).filter((i) => i !== '');
    if (items.length === 0) return fail(`${quote(raw)} names no origin`);
    const out: string[] = [];
    for (const item of items) {
      if (item === '*') return ok('*');
      const m = item.length <= 300 ? ORIGIN.exec(item) : null;
      const port = Number(m?.groups?.port ?? 1);
      if (item !== 'null' && (!m || port < 1 || port > 65535))
        return fail(`${items.length === 1 ? quote(raw) : `${quote(item)} in ${quote(raw)}`} is not an origin (scheme://host[:port], scheme://*.domain[:port], null or *)`);
      if (!out.includes(item)) out.push(item);
    }
    return ok(out);
  },
};

/** A value in messages: JSON-quoted (no raw newline reaches a log line) and cut to 64 characters. */
export function quote(raw: string): string {
  return JSON.stringify(raw.length > 64 ? `${raw.slice(0, 64)}...` : raw);
}
