// The name grammars of Kubernetes (apimachinery pkg/util/validation) at their edges: which host, Service, port name
// and controller name an Ingress may use. The golden cases show the usual names; these are the boundaries a careless
// change would move (found by mutation testing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isDomainPrefixedPath, isIanaServiceName, isPathSegmentName, isPortNumber, isWildcardDns1123Subdomain } from '../../src/translate/grammar.js';

function check(fn: (s: string) => boolean, yes: string[], no: string[]): void {
  for (const s of yes) assert.equal(fn(s), true, `${fn.name} accepts ${JSON.stringify(s)}`);
  for (const s of no) assert.equal(fn(s), false, `${fn.name} refuses ${JSON.stringify(s)}`);
}

/** A valid subdomain of exactly `n` characters: labels of 63, joined by dots. */
function subdomain(n: number): string {
  const labels: string[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(63, left);
    labels.push('a'.repeat(len));
    left -= len + 1;
  }
  const s = labels.join('.');
  return s.length === n ? s : `${s.slice(0, n - 1)}b`;
}

test('DNS-1123 and DNS-1035 labels: 1 to 63 characters', () => {
  check(isDns1123Label, ['a', '0', 'a-b', 'x'.repeat(63), '1abc'], ['', 'x'.repeat(64), '-a', 'a-', 'A', 'a.b', 'a_b']);
  check(isDns1035Label, ['a', 'a-1', 'x'.repeat(63)], ['', 'x'.repeat(64), '1a', 'a-', 'A']);
});

test('DNS-1123 subdomains and wildcards: at most 253 characters in all', () => {
  assert.equal(subdomain(253).length, 253);
  check(isDns1123Subdomain, ['a', 'a.b', subdomain(253)], ['', subdomain(254), 'a..b', '.a', 'a.', 'A.b', '*.a']);
  check(isWildcardDns1123Subdomain, ['*.a', '*.a.b', `*.${subdomain(251)}`], ['*.', '*', 'a.*.b', '**.a', `*.${subdomain(252)}`, '*a.b']);
});

test('IANA service names (port names): 1 to 15 characters, a letter, no leading, trailing or double hyphen', () => {
  check(isIanaServiceName, ['a', 'http', 'h2c', 'x'.repeat(15), 'a-b', '8a'], ['', 'x'.repeat(16), '80', '-http', 'http-', 'ht--tp', 'Http', 'http_2', 'a.b']);
});

test('port numbers: integers from 1 to 65535', () => {
  for (const n of [1, 80, 65535]) assert.equal(isPortNumber(n), true, String(n));
  for (const n of [0, 65536, -1, 80.5, Number.NaN, '80', null, undefined]) assert.equal(isPortNumber(n), false, String(n));
});

test('domain-prefixed paths (IngressClass controller names): a subdomain, a slash, a path; at most 250 characters', () => {
  const at250 = `${subdomain(240)}/${'c'.repeat(9)}`;
  assert.equal(at250.length, 250);
  check(isDomainPrefixedPath, ['portico.dev/ingress-controller', 'k8s.io/a/b', at250], ['portico.dev/', '/ingress', 'no-slash', `${at250}c`, 'Portico.dev/x', 'portico.dev/a b']);
});

test('path segment names (resource backends): anything but "", ".", "..", or a "/" or "%"', () => {
  check(isPathSegmentName, ['a', 'Kind', '...', 'a.b'], ['', '.', '..', 'a/b', 'a%2f']);
});
