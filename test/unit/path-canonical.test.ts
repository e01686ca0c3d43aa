// Rule path-canonical: the form Ingress paths (here) and request paths (in HAProxy) are matched in. Examples for
// each step, then properties over arbitrary input: idempotent, RFC 3986 path characters only with uppercase hex,
// no "//", "/./" or "/../", and the same bytes as the input once both are decoded and the input is normalised by
// an independent, literal reading of RFC 3986 section 5.2.4.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalPath, removeDotSegments } from '../../src/translate/path-canonical.js';

const ok = (raw: string): string => {
  const r = canonicalPath(raw);
  assert.ok(r.ok, `${JSON.stringify(raw)} was refused: ${r.ok ? '' : r.reason}`);
  return r.path;
};
const refused = (raw: string): string => {
  const r = canonicalPath(raw);
  assert.ok(!r.ok, `${JSON.stringify(raw)} was accepted as ${r.ok ? r.path : ''}`);
  return r.problem;
};

void describe('canonicalPath: examples', () => {
  test('(a) characters outside pchar are encoded as UTF-8 with uppercase hex', () => {
    assert.equal(ok('/a b'), '/a%20b');
    assert.equal(ok('/café'), '/caf%C3%A9');
    assert.equal(ok('/"q"'), '/%22q%22');
    assert.equal(ok('/x?y#z'), '/x%3Fy%23z');
    assert.equal(ok('/😀'), '/%F0%9F%98%80');
    assert.equal(ok('/\n\t'), '/%0A%09');
    assert.equal(ok('/\u007f\u0080'), '/%7F%C2%80', 'U+007F is the last one-byte character, U+0080 the first two-byte one');
    assert.equal(ok('/\uffffa'), '/%EF%BF%BFa', 'U+FFFF is one UTF-16 unit: the next character is read');
    assert.equal(ok("/a-b_c.d~e!$&'()*+,;=:@"), "/a-b_c.d~e!$&'()*+,;=:@", 'pchar stays as it is');
  });
  test('(b) encodings of unreserved characters are decoded', () => {
    assert.equal(ok('/%41%62%7e%2D%5F'), '/Ab~-_');
    assert.equal(ok('/x%2ey'), '/x.y');
  });
  test('(c) other encodings get uppercase hex; a "%" needs two hex digits', () => {
    assert.equal(ok('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(ok('/a%3ab'), '/a%3Ab', '":" is reserved: its encoding is kept');
    assert.equal(ok('/%25'), '/%25');
    assert.equal(refused('/%zz'), 'encoding');
    assert.equal(refused('/%4'), 'encoding');
    assert.equal(refused('/%'), 'encoding');
    assert.equal(refused('/\ud800'), 'encoding', 'a lone surrogate is not a character');
    assert.equal(refused('/\udfff'), 'encoding', 'the last surrogate neither');
  });
  test('(d) ambiguous forms are refused', () => {
    for (const raw of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a%5cb', '/a\\b', '/a%00', '/a\u0000', '/..;/x', '/a/..;jsessionid=1/b', '/%2e%2e;/x', '/.;/x', '/..%3B/x', '/.%2e%3b/x'])
      assert.equal(refused(raw), 'ambiguous', raw);
    assert.equal(ok('/a..;b'), '/a..;b', 'only a segment that starts with "..;"');
  });
  test('(e) runs of "/" are merged, then dot segments removed', () => {
    assert.equal(ok('/a/./b'), '/a/b');
    assert.equal(ok('/a/../b'), '/b');
    assert.equal(ok('/a/%2e%2E/b'), '/b', 'decoded dots are dot segments too');
    assert.equal(ok('/a//b///c'), '/a/b/c');
    assert.equal(ok('/a/b/..'), '/a/');
    assert.equal(ok('/a/.'), '/a/');
    assert.equal(ok('/../..'), '/');
    assert.equal(ok('/a//../b'), '/b', 'slashes first, as nginx and HAProxy: ".." removes "a", not an empty segment');
    const r = canonicalPath('/a//b');
    assert.ok(r.ok && r.normalised);
    const s = canonicalPath('/caf%c3%a9');
    assert.ok(s.ok && !s.normalised, 're-encoding alone is not a normalisation');
  });
  test('an empty path stays empty (translate reads it as "/")', () => {
    assert.equal(ok(''), '');
  });
});

/** RFC 3986 5.2.4 as written: the input buffer is rewritten step by step. An independent check of the indexed one. */
function literalRemoveDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      input = input.startsWith('/../') ? input.slice(3) : '/';
      const cut = output.lastIndexOf('/');
      output = cut === -1 ? '' : output.slice(0, cut);
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const end = next === -1 ? input.length : next;
      output += input.slice(0, end);
      input = input.slice(end);
    }
  }
  return output;
}

/** The bytes a path stands for (percent-encodings decoded, other characters as UTF-8), as a latin1 string. */
function bytesOf(path: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(path.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(path.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    const cp = path.codePointAt(i)!;
    out += Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
    if (cp > 0xffff) i++;
  }
  return out;
}

const hexCase = (b: number, upper: boolean): string => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`;
/** Paths built from the pieces that matter: slashes, dots, encodings in both cases, unicode, hostile characters. */
const pathArb = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('/', '/', '.', '..', 'a', 'Z', '~', ';', ':', '@', ' ', 'é', '😀', '"', '#', '?', '%', '{', '\n') },
      { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([b, u]) => hexCase(b, u)) },
      { weight: 1, arbitrary: fc.constantFrom('%2e', '%2E', '%2f', '%5c', '%00', '\\', '..;', '.;', '%3b', '%3B', '%zz', '\ud800') },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));
const accepted = pathArb.filter((p) => canonicalPath(p).ok);

void describe('canonicalPath: properties', () => {
  test('the indexed dot-segment removal equals RFC 3986 5.2.4 read literally', () => {
    fc.assert(fc.property(pathArb, (p) => removeDotSegments(p) === literalRemoveDotSegments(p)), { numRuns: 2000 });
  });

  test('idempotent', () => {
    fc.assert(
      fc.property(accepted, (p) => {
        const once = canonicalPath(p);
        const twice = once.ok ? canonicalPath(once.path) : undefined;
        return once.ok && twice !== undefined && twice.ok && twice.path === once.path && !twice.normalised;
      }),
      { numRuns: 2000 },
    );
  });

  test('output: RFC 3986 path characters only, uppercase hex, no encoded unreserved character', () => {
    fc.assert(
      fc.property(accepted, (p) => {
        const out = canonicalPath(p);
        if (!out.ok) return false;
        return /^([A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*$/.test(out.path) && !/%(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2D|2E|5F|7E)/.test(out.path);
      }),
      { numRuns: 2000 },
    );
  });

  test('output never holds "//", "/./" or "/../", nor ends in "/." or "/.."', () => {
    fc.assert(
      fc.property(accepted, (p) => {
        const out = canonicalPath(p);
        return out.ok && !/\/\/|\/\.\/|\/\.\.\/|\/\.\.?$/.test(out.path);
      }),
      { numRuns: 2000 },
    );
  });

  test('decoding the output gives the decoded input, normalised', () => {
    fc.assert(
      fc.property(accepted, (p) => {
        const out = canonicalPath(p);
        return out.ok && bytesOf(out.path) === literalRemoveDotSegments(bytesOf(p).replace(/\/{2,}/g, '/'));
      }),
      { numRuns: 2000 },
    );
  });

  test('refused exactly for a bad "%", a lone surrogate, %2F, a backslash, %00 or a "..;" or ".;" segment', () => {
    fc.assert(
      fc.property(pathArb, (p) => {
        const r = canonicalPath(p);
        const badPercent = /%(?![0-9A-Fa-f]{2})/.test(p);
        const surrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(p);
        // Dots and the ";" may be encoded.
        const dots = p.replace(/%2e/gi, '.').replace(/%3b/gi, ';');
        const ambiguous = /%2f|%5c|%00/i.test(p) || p.includes('\\') || p.includes('\0') || /(^|\/)\.\.?;/.test(dots);
        if (r.ok) return !badPercent && !surrogate && !ambiguous;
        return r.problem === 'encoding' ? badPercent || surrogate : ambiguous;
      }),
      { numRuns: 3000 },
    );
  });
});
