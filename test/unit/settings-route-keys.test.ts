// The settings ConfigMap's route-level keys (src/model/settings-route-keys.ts) as translate and render each use them:
// a key whose change reaches routeDefaults must be one sameConfigurationText ignores (else a change reloads HAProxy
// for nothing), and a key sameConfigurationText ignores must be route-level, the access log's or a block list (else
// its change would never be applied until the next reload). Every key of GlobalSettings is changed alone, so a key
// added to GlobalSettings fails here until the fixtures carry it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { GlobalSettings } from '../../src/model/types.js';
import { BLOCK_LIST_SETTING_KEYS, NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS, ROUTE_SETTING_KEYS } from '../../src/model/settings-route-keys.js';
import { routeDefaults } from '../../src/translate/settings/index.js';
import { sameConfigurationText } from '../../src/haproxy/render/global-settings.js';

// The compiler refuses this object when GlobalSettings gains or loses a key, and the test below compares the
// fixtures' keys with it, so no key can go untested.
const EVERY_KEY: Record<keyof GlobalSettings, true> = {
  accessLog: true,
  hsts: true,
  hstsMaxAge: true,
  hstsIncludeSubdomains: true,
  hstsPreload: true,
  tlsVersions: true,
  sslCiphers: true,
  maxBodyBytes: true,
  clientHeaderTimeout: true,
  clientBodyTimeout: true,
  keepAlive: true,
  connectTimeout: true,
  serverTimeout: true,
  workerShutdownTimeout: true,
  limitReqStatus: true,
  limitConnStatus: true,
  serverTokens: true,
  allowBackendServerHeader: true,
  sslRedirect: true,
  forceSslRedirect: true,
  httpRedirectCode: true,
  useForwardedHeaders: true,
  enableRealIp: true,
  forwardedForHeader: true,
  proxyRealIpCidr: true,
  computeFullForwardedFor: true,
  useProxyProtocol: true,
  blockCidrs: true,
  blockUserAgents: true,
  blockReferers: true,
  allowSourceRange: true,
  denySourceRange: true,
  globalAuth: true,
  noAuthLocations: true,
  addHeadersConfigMap: true,
  addHeaders: true,
  proxySetHeadersConfigMap: true,
  proxySetHeaders: true,
  hideHeaders: true,
  http2: true,
  underscoresInHeaders: true,
  ignoreInvalidHeaders: true,
  headerBytes: true,
  http2MaxConcurrentStreams: true,
  loadBalance: true,
  upstreamKeepalive: true,
  maxConnections: true,
  sslSessionCache: true,
  sslSessionCacheSessions: true,
  sslSessionTimeout: true,
  sslCurves: true,
  sslDhParamSecret: true,
  sslDhParam: true,
  gzip: true,
  gzipTypes: true,
  disableIpv6: true,
  threads: true,
  generateRequestId: true,
  addOriginalUri: true,
  annotationDefaults: true,
  allowedResponseHeaders: true,
  noTlsRedirectLocations: true,
  retryNonIdempotent: true,
};

/** A value for every key, each one routeDefaults or render reads (global authentication with a URL and nothing
 * refused, an annotation default the annotation's grammar takes). */
const FULL: Required<GlobalSettings> = {
  accessLog: { disabled: false, skipUrls: ['/healthz'], defaultBackend: false },
  hsts: true,
  hstsMaxAge: 31536000,
  hstsIncludeSubdomains: true,
  hstsPreload: false,
  tlsVersions: { min: 'TLSv1.2', max: 'TLSv1.3' },
  sslCiphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  maxBodyBytes: 1048576,
  clientHeaderTimeout: 60,
  clientBodyTimeout: 60,
  keepAlive: 75,
  connectTimeout: 5,
  serverTimeout: 60,
  workerShutdownTimeout: 240,
  limitReqStatus: 503,
  limitConnStatus: 503,
  serverTokens: true,
  allowBackendServerHeader: false,
  sslRedirect: true,
  forceSslRedirect: false,
  httpRedirectCode: 308,
  useForwardedHeaders: false,
  enableRealIp: false,
  forwardedForHeader: 'x-forwarded-for',
  proxyRealIpCidr: ['10.0.0.0/8'],
  computeFullForwardedFor: false,
  useProxyProtocol: false,
  blockCidrs: ['192.0.2.0/24'],
  blockUserAgents: ['^curl'],
  blockReferers: ['spam\\.test'],
  allowSourceRange: ['10.0.0.0/8'],
  denySourceRange: ['172.16.0.0/12'],
  globalAuth: { url: 'http://auth.test/verify', method: 'GET', responseHeaders: ['x-user'], alwaysSetCookie: false },
  noAuthLocations: ['/public'],
  addHeadersConfigMap: 'portico/add-headers',
  addHeaders: { 'x-a': '1' },
  proxySetHeadersConfigMap: 'portico/proxy-set-headers',
  proxySetHeaders: { 'x-b': '2' },
  hideHeaders: ['x-powered-by'],
  http2: true,
  underscoresInHeaders: false,
  ignoreInvalidHeaders: true,
  headerBytes: 32768,
  http2MaxConcurrentStreams: 128,
  loadBalance: 'round_robin',
  upstreamKeepalive: true,
  maxConnections: 16384,
  sslSessionCache: true,
  sslSessionCacheSessions: 20000,
  sslSessionTimeout: 600,
  sslCurves: 'X25519:prime256v1',
  sslDhParamSecret: 'portico/dh',
  sslDhParam: '-----BEGIN DH PARAMETERS-----\nA\n-----END DH PARAMETERS-----\n',
  gzip: true,
  gzipTypes: ['text/html', 'application/json'],
  disableIpv6: false,
  threads: 2,
  generateRequestId: true,
  addOriginalUri: false,
  annotationDefaults: { 'proxy-next-upstream-tries': '3' },
  allowedResponseHeaders: ['x-frame-options'],
  noTlsRedirectLocations: ['/plain'],
  retryNonIdempotent: false,
};

/** Another value for every key. A block list keeps lines, so that only its lines change, not whether it has any. */
const CHANGED: Required<GlobalSettings> = {
  accessLog: { disabled: true, skipUrls: [], defaultBackend: true },
  hsts: false,
  hstsMaxAge: 600,
  hstsIncludeSubdomains: false,
  hstsPreload: true,
  tlsVersions: { min: 'TLSv1.3', max: 'TLSv1.3' },
  sslCiphers: 'ECDHE-RSA-AES256-GCM-SHA384',
  maxBodyBytes: 0,
  clientHeaderTimeout: 30,
  clientBodyTimeout: 30,
  keepAlive: 10,
  connectTimeout: 10,
  serverTimeout: 120,
  workerShutdownTimeout: 10,
  limitReqStatus: 429,
  limitConnStatus: 429,
  serverTokens: false,
  allowBackendServerHeader: true,
  sslRedirect: false,
  forceSslRedirect: true,
  httpRedirectCode: 301,
  useForwardedHeaders: true,
  enableRealIp: true,
  forwardedForHeader: 'x-real-ip',
  proxyRealIpCidr: ['192.168.0.0/16'],
  computeFullForwardedFor: true,
  useProxyProtocol: true,
  blockCidrs: ['198.51.100.0/24'],
  blockUserAgents: ['^wget'],
  blockReferers: ['junk\\.test'],
  allowSourceRange: ['192.168.0.0/16'],
  denySourceRange: 'refuse',
  globalAuth: { url: 'http://other-auth.test/verify', method: 'GET', responseHeaders: ['x-user'], alwaysSetCookie: false },
  noAuthLocations: ['/open'],
  addHeadersConfigMap: 'portico/other-add-headers',
  addHeaders: { 'x-a': '2' },
  proxySetHeadersConfigMap: 'portico/other-proxy-set-headers',
  proxySetHeaders: { 'x-b': '3' },
  hideHeaders: ['server'],
  http2: false,
  underscoresInHeaders: true,
  ignoreInvalidHeaders: false,
  headerBytes: 16384,
  http2MaxConcurrentStreams: 64,
  loadBalance: 'ewma',
  upstreamKeepalive: false,
  maxConnections: 1024,
  sslSessionCache: false,
  sslSessionCacheSessions: 1000,
  sslSessionTimeout: 300,
  sslCurves: 'secp384r1',
  sslDhParamSecret: 'portico/other-dh',
  sslDhParam: '-----BEGIN DH PARAMETERS-----\nB\n-----END DH PARAMETERS-----\n',
  gzip: false,
  gzipTypes: 'any',
  disableIpv6: true,
  threads: 4,
  generateRequestId: false,
  addOriginalUri: true,
  annotationDefaults: { 'proxy-next-upstream-tries': '5' },
  allowedResponseHeaders: ['x-served-by'],
  noTlsRedirectLocations: ['/insecure'],
  retryNonIdempotent: true,
};

const KEYS = Object.keys(EVERY_KEY) as (keyof GlobalSettings)[];
const ROUTE: ReadonlySet<string> = new Set(ROUTE_SETTING_KEYS);
const NEITHER: ReadonlySet<string> = new Set(NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS);

const withValue = (base: GlobalSettings, key: keyof GlobalSettings, value: unknown): GlobalSettings => ({ ...base, [key]: value });
const without = (base: GlobalSettings, key: keyof GlobalSettings): GlobalSettings => {
  const out = { ...base };
  delete out[key];
  return out;
};
const routesDiffer = (a: GlobalSettings, b: GlobalSettings): boolean => !isDeepStrictEqual(routeDefaults(a), routeDefaults(b));

describe('the route-level keys of the settings ConfigMap', () => {
  test('the fixtures hold a value for every key of GlobalSettings, and the two values of a key differ', () => {
    const sorted = [...KEYS].sort();
    assert.deepEqual(Object.keys(FULL).sort(), sorted);
    assert.deepEqual(Object.keys(CHANGED).sort(), sorted);
    for (const k of KEYS) assert.notDeepEqual(FULL[k], CHANGED[k], k);
  });

  test('the lists name each key once, and no key is on both', () => {
    const listed = [...ROUTE_SETTING_KEYS, ...NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS];
    assert.deepEqual(listed.filter((k, i) => listed.indexOf(k) !== i), []);
    for (const k of BLOCK_LIST_SETTING_KEYS) assert.ok(NEITHER.has(k), k);
  });

  for (const k of KEYS) {
    const where = ROUTE.has(k) ? 'the routes' : NEITHER.has(k) ? 'neither the routes nor the text' : 'the configuration text';
    test(`${k} alone changed: a change of ${where}`, () => {
      const changed = withValue(FULL, k, CHANGED[k]);
      assert.equal(routesDiffer(FULL, changed), ROUTE.has(k), 'routeDefaults changed');
      assert.equal(sameConfigurationText(FULL, changed), ROUTE.has(k) || NEITHER.has(k), 'same configuration text');
    });
  }

  for (const k of BLOCK_LIST_SETTING_KEYS) {
    test(`${k}: the text changes when the list gains its first line or loses its last, never the routes`, () => {
      for (const [how, none] of [['emptied', withValue(FULL, k, [])], ['unset', without(FULL, k)]] as const) {
        assert.equal(sameConfigurationText(FULL, none), false, how);
        assert.equal(routesDiffer(FULL, none), false, how);
      }
      assert.ok(sameConfigurationText(withValue(FULL, k, []), without(FULL, k)), 'empty and unset: no lines either way');
    });
  }
});
