// The canonical form of a URL path: what an Ingress path is matched in, and exactly the form HAProxy routes request
// paths on (the request side implements the same definition; docs/rules.md, rule path-canonical). One function, so
// the two sides cannot drift apart:
//   a) every character outside RFC 3986 `pchar` and "/" is percent-encoded as its UTF-8 bytes, uppercase hex;
//   b) a percent-encoding of an unreserved character (A-Z a-z 0-9 - . _ ~) is decoded;
//   c) every other percent-encoding gets uppercase hex; a "%" not followed by two hex digits is invalid;
//   d) forms a request may not carry (HAProxy refuses them with 400, or backends read them differently) are refused:
//      an encoded slash (%2F), a backslash (literal or %5C), an encoded NUL (%00), a segment starting with "..;" or
//      ".;" (also with ";" encoded: %3B), which some servers (Tomcat) read as a dot segment;
//   e) runs of "/" are merged into one, then dot segments are removed (RFC 3986 5.2.4): nginx's order, and
//      HAProxy's (path-merge-slashes before path-strip-dot and path-strip-dotdot), so "/a//../b" is "/b".
// The result is printable ASCII without spaces, quotes or "#": safe as a map key.

export type CanonicalPath =
  | { ok: true; path: string; /** Step (e) changed the path: it had dot segments or "//". */ normalised: boolean }
  | { ok: false; problem: 'encoding' | 'ambiguous'; reason: string };

const HEX = '0123456789ABCDEF';

/** RFC 3986 unreserved: the characters whose encoding is decoded (b). */
function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** RFC 3986 pchar without pct-encoded, plus "/": the characters that stay as they are (a). */
function isPathChar(c: number): boolean {
  // sub-delims ! $ & ' ( ) * + , ; =  and  : @ /
  return isUnreserved(c) || c === 0x21 || c === 0x24 || (c >= 0x26 && c <= 0x2c) || c === 0x3b || c === 0x3d || c === 0x3a || c === 0x40 || c === 0x2f;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function pct(byte: number): string {
  return `%${HEX[byte >> 4]!}${HEX[byte & 15]!}`;
}

export function canonicalPath(raw: string): CanonicalPath {
  // (a)-(c): one pass, character by character.
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0)
        return { ok: false, problem: 'encoding', reason: `holds ${JSON.stringify(raw.slice(i, i + 3))} at character ${i + 1}, which is not a percent-encoding (a "%" must be followed by two hex digits)` };
      const byte = hi * 16 + lo;
      out += isUnreserved(byte) ? String.fromCharCode(byte) : pct(byte);
      i += 2;
    } else if (c < 0x80 && isPathChar(c)) {
      out += raw[i];
    } else if (c < 0x80) {
      out += pct(c);
    } else {
      const cp = raw.codePointAt(i)!;
      if (cp >= 0xd800 && cp <= 0xdfff)
        return { ok: false, problem: 'encoding', reason: `holds a lone UTF-16 surrogate (U+${cp.toString(16).toUpperCase()}) at character ${i + 1}, which is not a character` };
      for (const byte of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += pct(byte);
      if (cp > 0xffff) i++;
    }
  }
  // (d): checked on the encoded form, so a literal and an encoded spelling are caught alike.
  const ambiguous = ambiguity(out);
  if (ambiguous) return { ok: false, problem: 'ambiguous', reason: `${ambiguous}; a request holding it is refused (400) before routing, so no request could match this path` };
  // (e)
  const path = removeDotSegments(mergeSlashes(out));
  return { ok: true, path, normalised: path !== out };
}

function ambiguity(encoded: string): string | undefined {
  if (encoded.includes('%2F')) return 'holds an encoded "/" (%2F)';
  if (encoded.includes('%5C')) return 'holds a backslash ("\\" or %5C)';
  if (encoded.includes('%00')) return 'holds an encoded NUL (%00)';
  if (/(^|\/)\.\.?(;|%3B)/.test(encoded)) return 'holds a segment starting with "..;" or ".;" (read as a dot segment by some servers)';
  return undefined;
}

/**
 * RFC 3986 section 5.2.4, with an index into the input instead of the RFC's rewriting of it, so a path of a
 * megabyte costs one pass. The output is kept as segments, each with its leading "/" (the first may have none).
 */
export function removeDotSegments(input: string): string {
  const out: string[] = [];
  const n = input.length;
  let i = 0;
  const at = (s: string): boolean => input.startsWith(s, i);
  const rest = (s: string): boolean => n - i === s.length && at(s);
  while (i < n) {
    if (at('../')) i += 3; // A
    else if (at('./')) i += 2; // A
    else if (at('/./')) i += 2; // B: "/./" becomes "/"
    else if (rest('/.')) {
      out.push('/'); // B: "/." becomes "/"
      i = n;
    } else if (at('/../')) {
      out.pop(); // C: "/../" becomes "/", and the last output segment goes
      i += 3;
    } else if (rest('/..')) {
      out.pop(); // C
      out.push('/');
      i = n;
    } else if (rest('.') || rest('..')) {
      i = n; // D
    } else {
      const next = input.indexOf('/', input[i] === '/' ? i + 1 : i); // E
      const end = next === -1 ? n : next;
      out.push(input.slice(i, end));
      i = end;
    }
  }
  return out.join('');
}

function mergeSlashes(s: string): string {
  return s.includes('//') ? s.replace(/\/{2,}/g, '/') : s;
}
