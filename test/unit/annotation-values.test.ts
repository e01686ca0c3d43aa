// The value grammars (src/translate/annotations/values.ts) at their edges: what each accepts and refuses, matched to
// the Go functions ingress-nginx's validators call (strconv.ParseBool, strconv.Atoi, time.ParseDuration, its size
// regex, net.ParseCIDR, url.Parse), and the exact reason a user reads in finding A1 (found by mutation testing:
// docs/mutation-testing.md, "Annotations, object kinds and route policies").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bool, cidrList, duration, headerName, headerValue, hostAndPort, httpUrl, integer, oneOf, quote, redirectUrl, size } from '../../src/translate/annotations/values.js';
import type { Parsed, ValueGrammar } from '../../src/translate/annotations/values.js';

const value = <T>(p: Parsed<T>): T | undefined => (p.ok ? p.value : undefined);
const reason = <T>(p: Parsed<T>): string | undefined => (p.ok ? undefined : p.reason);
/** The reason `g` gives for `raw`; fails the test when `g` accepts it. */
function refusal<T>(g: ValueGrammar<T>, raw: string): string {
  const p = g.parse(raw);
  assert.equal(p.ok, false, `${g.describe} accepted ${JSON.stringify(raw)}`);
  return reason(p)!;
}

void describe('bool: Go strconv.ParseBool', () => {
  const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
  const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

  test('any other string is refused, with the reason A1 shows', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...TRUE, ...FALSE), fc.constantFrom(...TRUE, ...FALSE).map((w) => ` ${w}`), fc.constantFrom('yes', 'no', 'on', 'off', 'tRUE', 'fALSE', 'y', 'n')), (s) => {
        const p = bool.parse(s);
        if (TRUE.includes(s)) assert.deepEqual(p, { ok: true, value: true });
        else if (FALSE.includes(s)) assert.deepEqual(p, { ok: true, value: false });
        else assert.deepEqual(p, { ok: false, reason: `${JSON.stringify(s)} is not "true" or "false"` });
      }),
      { numRuns: 2000 },
    );
  });
});

void describe('integer: Go strconv.Atoi within a range', () => {
  test('both ends of the range are in it, one past either end is not', () => {
    const g = integer(-5, 5);
    assert.equal(g.describe, 'a whole number from -5 to 5');
    assert.equal(value(g.parse('-5')), -5);
    assert.equal(value(g.parse('5')), 5);
    assert.equal(value(g.parse('+5')), 5);
    assert.equal(refusal(g, '6'), '"6" is not a whole number from -5 to 5');
    assert.equal(refusal(g, '-6'), '"-6" is not a whole number from -5 to 5');
    assert.equal(refusal(g, '5.0'), '"5.0" is not a whole number from -5 to 5');
    for (const bad of ['+-1', '--1', '1_000', '0x1', ' 1', '1 ', '']) assert.equal(g.parse(bad).ok, false, bad);
  });

  test('every whole number in range, written with or without a sign, reads as itself', () => {
    const g = integer(-1000, 1000);
    fc.assert(
      fc.property(fc.integer({ min: -2000, max: 2000 }), fc.boolean(), (n, plus) => {
        const raw = plus && n >= 0 ? `+${n}` : String(n);
        assert.deepEqual(g.parse(raw), n >= -1000 && n <= 1000 ? { ok: true, value: n } : { ok: false, reason: `${JSON.stringify(raw)} is not a whole number from -1000 to 1000` });
      }),
    );
  });
});

void describe('size: ingress-nginx sizes (digits and one of b, k, m, g in either case)', () => {
  test('the cap is inclusive and named in the reason', () => {
    const g = size(8192);
    assert.equal(value(g.parse('8k')), 8192);
    assert.equal(value(g.parse('8192')), 8192);
    assert.equal(value(g.parse('8192B')), 8192);
    assert.equal(refusal(g, '8193'), '"8193" is larger than 8192 bytes');
    assert.equal(refusal(g, '1m'), '"1m" is larger than 8192 bytes');
  });

  test('a number and a unit, in bytes', () => {
    const g = size(2 ** 50);
    const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.constantFrom(...Object.keys(unit)), fc.boolean(), (n, u, upper) => {
        const raw = `${n}${upper ? u.toUpperCase() : u}`;
        assert.deepEqual(g.parse(raw), { ok: true, value: n * unit[u as keyof typeof unit] });
      }),
    );
  });

  test('anything else is refused, naming what is expected', () => {
    for (const bad of ['1.5m', '1 m', 'm', '1mb', '1t', '-1', '+1', '']) assert.equal(refusal(size(2 ** 40), bad), `${JSON.stringify(bad)} is not an nginx size such as 1000, 8k, 1m or 1g`);
  });
});

void describe('duration: Go time.ParseDuration, in milliseconds', () => {
  const g = duration(24 * 3_600_000);

  test('units, fractions and sums', () => {
    assert.equal(value(g.parse('1.25s')), 1250, 'more than one fractional digit');
    assert.equal(value(g.parse('1.125s')), 1125);
    assert.equal(value(g.parse('2h45m30s')), 9_930_000);
    assert.equal(value(g.parse('1h1h')), 7_200_000, 'a unit may repeat, as in Go');
    assert.equal(value(g.parse('1500us')), 1.5);
    assert.equal(value(g.parse('1500µs')), 1.5, 'U+00B5 micro sign');
    assert.equal(value(g.parse('1500μs')), 1.5, 'U+03BC Greek mu');
    assert.equal(value(g.parse('2000000ns')), 2);
    assert.equal(value(g.parse('0s')), 0);
  });

  test('the cap is inclusive and named in the reason', () => {
    const s = duration(1000);
    assert.equal(value(s.parse('1s')), 1000);
    assert.equal(value(s.parse('999ms')), 999);
    assert.equal(refusal(s, '1001ms'), '"1001ms" is longer than 1000 ms');
  });

  test('text after the last unit, a missing unit, an unknown unit or a space is refused, naming what is expected', () => {
    for (const bad of ['1sx', '1s1', '1s ', '1', '00', '1d', '1 s', 's', '1.s5'])
      assert.equal(refusal(g, bad), `${JSON.stringify(bad)} is not a duration such as 500ms, 30s, 5m or 1h30m`);
  });

  test('whole components in any unit add up', () => {
    const ms = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(...Object.keys(ms))), { minLength: 1, maxLength: 6 }), (parts) => {
        const raw = parts.map(([n, u]) => `${n}${u}`).join('');
        const total = parts.reduce((sum, [n, u]) => sum + n * ms[u as keyof typeof ms], 0);
        assert.deepEqual(duration(1e12).parse(raw), { ok: true, value: total });
      }),
    );
  });
});

void describe('oneOf: ingress-nginx ValidateOptions', () => {
  test('the words are listed in the description and the reason', () => {
    const g = oneOf(['http', 'https', 'grpc']);
    assert.equal(g.describe, 'one of "http", "https", "grpc"');
    assert.equal(refusal(g, 'h2c'), '"h2c" is not one of "http", "https", "grpc"');
    assert.equal(value(g.parse('HTTPS')), 'https');
  });
});

void describe('cidrList: net.ParseCIDR and net.ParseIP, comma-separated', () => {
  test('IPv6 prefixes go up to 128, IPv4 ones to 32; a bare address is a /32 or a /128', () => {
    assert.deepEqual(value(cidrList.parse('2001:db8::/64')), ['2001:db8::/64']);
    assert.deepEqual(value(cidrList.parse('::/128, ::1')), ['::/128', '::1/128']);
    assert.deepEqual(value(cidrList.parse('10.0.0.1/32,0.0.0.0/0')), ['10.0.0.1/32', '0.0.0.0/0']);
    assert.equal(cidrList.parse('::/129').ok, false);
    assert.equal(cidrList.parse('10.0.0.0/33').ok, false);
  });

  test('a prefix length is decimal digits only', () => {
    for (const bits of ['+8', ' 8', '8.0', '1e1', '0x8', '8a', '', '-0'])
      assert.equal(refusal(cidrList, `10.0.0.0/${bits}`), `${JSON.stringify(`10.0.0.0/${bits}`)} in ${JSON.stringify(`10.0.0.0/${bits}`)} is not an IP address or CIDR block`);
  });

  test('spaces around an item are allowed, a tab or a line break is not', () => {
    assert.deepEqual(value(cidrList.parse(' 10.0.0.0/8 ,  10.1.0.0/16 ')), ['10.0.0.0/8', '10.1.0.0/16']);
    for (const raw of ['10.0.0.0/8\n', '\t10.0.0.0/8', '10.0.0.0/8,\r\n10.1.0.0/16']) assert.equal(cidrList.parse(raw).ok, false, JSON.stringify(raw));
  });

  test('the reason names the bad item and the whole value', () => {
    assert.equal(refusal(cidrList, '10.0.0.1, 10.0.0.0/33'), '"10.0.0.0/33" in "10.0.0.1, 10.0.0.0/33" is not an IP address or CIDR block');
    assert.equal(cidrList.describe, 'a comma-separated list of IP addresses or CIDR blocks');
  });

  test('any IPv4 or IPv6 address with any prefix length of its family is accepted', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(fc.ipV4(), fc.constant(32)), fc.tuple(fc.ipV6(), fc.constant(128))), fc.nat(), ([ip, max], n) => {
        const bits = n % (max + 1);
        assert.deepEqual(cidrList.parse(`${ip}/${bits}`), { ok: true, value: [`${ip}/${bits}`] });
        assert.equal(cidrList.parse(`${ip}/${max + 1 + (n % 100)}`).ok, false);
      }),
    );
  });
});

void describe('headerName and headerValue: RFC 9110', () => {
  test('a header name is a token of 1 to 256 characters', () => {
    assert.equal(value(headerName.parse('A')), 'a');
    assert.equal(value(headerName.parse('X'.repeat(256))), 'x'.repeat(256));
    assert.equal(refusal(headerName, 'X'.repeat(257)), `${quote('X'.repeat(257))} is not an HTTP header name`);
    assert.equal(refusal(headerName, 'X:Y'), '"X:Y" is not an HTTP header name');
    assert.equal(headerName.describe, 'an HTTP header name');
  });

  test('a header value is one visible character, or visible characters around spaces and tabs', () => {
    assert.equal(value(headerValue.parse('a')), 'a');
    assert.equal(value(headerValue.parse('a \tb')), 'a \tb');
    assert.equal(value(headerValue.parse('v'.repeat(4096))), 'v'.repeat(4096));
    assert.equal(headerValue.parse('v'.repeat(4097)).ok, false);
    assert.equal(refusal(headerValue, '\ta'), '"\\ta" is not a header value of visible ASCII characters and spaces');
    assert.equal(headerValue.describe, 'an HTTP header value (visible ASCII characters and spaces)');
  });
});

void describe('httpUrl: absolute http(s) URLs', () => {
  test('both schemes, in either case; returned in canonical form', () => {
    assert.equal(value(httpUrl.parse('http://a.example/x')), 'http://a.example/x');
    assert.equal(value(httpUrl.parse('HTTPS://A.Example')), 'https://a.example/');
    assert.equal(httpUrl.describe, 'an absolute http:// or https:// URL');
  });

  test('a scheme that only ends in http, and a URL the URL parser refuses, are refused', () => {
    assert.equal(refusal(httpUrl, 'xhttps://a.example/'), '"xhttps://a.example/" is not an absolute http:// or https:// URL');
    assert.equal(refusal(httpUrl, 'git+http://a.example/'), '"git+http://a.example/" is not an absolute http:// or https:// URL');
    assert.equal(refusal(httpUrl, 'http://:80/'), '"http://:80/" is not an absolute http:// or https:// URL', 'no host before the port');
    assert.equal(refusal(httpUrl, 'http://[::1/'), '"http://[::1/" is not an absolute http:// or https:// URL');
  });
});

void describe('redirectUrl: ingress-nginx URLIsValidRegex and url.Parse with a host', () => {
  const BAD_URL = (raw: string): string => `${JSON.stringify(raw)} is not an http:// or https:// URL of letters, digits and - . _ ~ / : ? & =`;

  test('accepted as written: a port, an empty port (url.Parse allows it), a query without a path', () => {
    for (const ok of ['https://a.example:8443/p?q=1&r=2', 'https://a.example:/', 'https://a.example?x=1', 'http://a.example', 'http://10.0.0.1:8080/'])
      assert.equal(value(redirectUrl.parse(ok)), ok);
  });

  test('no host (empty, or only a port) is refused with its own reason', () => {
    for (const raw of ['https:///landing', 'https://:8443/', 'http://?x=1', 'https://:'])
      assert.equal(refusal(redirectUrl, raw), `${JSON.stringify(raw)} has no host`);
  });

  test('the whole value must be the URL: nothing before the scheme or after it outside the grammar', () => {
    for (const raw of ['xhttps://a.example/', 'a;https://a.example/', ' https://a.example/', 'https://a.example/ ', 'https://a.example/"', 'https://a.example/%20', 'https://a.example/#x', 'HTTPS://a.example/'])
      assert.equal(refusal(redirectUrl, raw), BAD_URL(raw));
    assert.equal(redirectUrl.describe, 'an http:// or https:// URL of letters, digits and - . _ ~ / : ? & =');
  });
});

void describe('quote: values in messages', () => {
  test('up to 64 characters in full, longer ones cut to 64 and marked', () => {
    assert.equal(quote('a'.repeat(64)), JSON.stringify('a'.repeat(64)));
    assert.equal(quote('a'.repeat(65)), JSON.stringify(`${'a'.repeat(64)}...`));
    assert.equal(quote('a\nb'), '"a\\nb"');
  });
});

void describe('closer to Go, and no zones or invented hosts (fixes from the mutation triage)', () => {
  const get = <T>(p: Parsed<T>): T | undefined => (p.ok ? p.value : undefined);
  test('duration: Go also reads a leading +, ".5s" and "5.s"', () => {
    const g = duration(10_000_000);
    assert.equal(get(g.parse('+1s')), 1000);
    assert.equal(get(g.parse('.5s')), 500);
    assert.equal(get(g.parse('5.s')), 5000);
    assert.equal(get(g.parse('1.5h')), 5_400_000);
    for (const bad of ['.s', '-1s', '++1s', '1..5s']) assert.equal(g.parse(bad).ok, false, bad);
  });
  test('cidrList: an IPv6 zone is refused; a prefix length is written in its canonical form', () => {
    assert.equal(cidrList.parse('fe80::1%eth0').ok, false);
    assert.equal(cidrList.parse('fe80::1%eth0/64').ok, false);
    assert.deepEqual(get(cidrList.parse('10.0.0.0/08,2001:db8::/032')), ['10.0.0.0/8', '2001:db8::/32']);
  });
  test('httpUrl: a URL that names no host is refused, not given one', () => {
    for (const bad of ['https:///x', 'http://?q', 'https://#f']) assert.deepEqual(httpUrl.parse(bad), { ok: false, reason: `${quote(bad)} has no host` }, bad);
  });
});

void describe('hostAndPort: upstream-vhost', () => {
  test('a host name with an optional port 1-65535, as written', () => {
    for (const ok of ['backend.internal', 'Backend.Internal:8080', 'a', 'a:1', 'x-1.example.com:65535']) assert.deepEqual(hostAndPort.parse(ok), { ok: true, value: ok }, ok);
    for (const bad of ['', '$host', 'a b', 'a..b', '-a', 'a-', 'a:0', 'a:65536', 'a:', ':80', '[::1]', 'a/b', 'a:80:81', 'a.example.com\n'])
      assert.deepEqual(hostAndPort.parse(bad), { ok: false, reason: `${quote(bad)} is not a host name with an optional :port` }, JSON.stringify(bad));
  });
});
