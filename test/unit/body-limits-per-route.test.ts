// The render side of proxy-body-size and of the timeout annotations: the exact body rules for every combination of
// a global limit (none or some), routes with their own limits (none or some) and listener (HTTP/2 or not); the map
// values render writes and the ones it refuses; and the gate's sections. The e2e tests show what a client sees; these
// pin the rule text that decides it, which a wrong branch (a 413 for every body, say) would change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bodyGateSections, bodyLimitFiles, bodyRules, bodySessionRules, globalBodyLimitLines } from '../../src/haproxy/render/body-limit.js';
import { BODY_SIZE_MAPS, bodySizeValue } from '../../src/haproxy/render/policy/body-size.js';
import { TIMEOUT_MAPS, gateTimeoutRules, serverTimeoutRules, serverTimeoutValue } from '../../src/haproxy/render/policy/timeouts.js';
import { UPSTREAM_VHOST_MAPS, upstreamVhostRules, upstreamVhostValue } from '../../src/haproxy/render/policy/upstream-vhost.js';
import { routeFeatures } from '../../src/haproxy/render/render.js';
import type { RoutePolicy } from '../../src/model/types.js';
import { OPTIONS, edgeSettings, target } from './render-model.js';

/** The features a route with this policy needs. */
const featuresOf = (policy: RoutePolicy): string[] => routeFeatures({ ...target(), policy });

const PER_ROUTE = { lookup: 'LOOKUP', hasId: 'HASID' };
const HG = '{ var(txn.odd_headers) -m bool }';
const H2 = '{ var(sess.h2) -m bool }';
const H2_UNKNOWN = `${H2} !{ req.hdr_cnt(content-length) gt 0 }`;
const WAIT = 'http-request wait-for-body time 60s';
const GATE = 'http-request set-var(txn.route) var(txn.route),regsub(\\|,|portico_body_gate|)';
const OWN = '{ var(txn.body_limit) -m int gt 0 }';
const BY_OWN = `${HG} ${OWN} { req.hdr_val(content-length),sub(txn.body_limit) gt 0 }`;

describe('body rules with routes of their own limits', () => {
  test('a global limit and route limits: the route limit, once read, replaces the global one', () => {
    const e = edgeSettings({ maxBodyBytes: 1000, bodyTimeoutSeconds: 60 });
    assert.deepEqual(bodyRules(e, false, PER_ROUTE), [
      `http-request set-var(txn.body_limit) LOOKUP if ${HG} HASID`,
      `http-request deny deny_status 413 if ${HG} !{ var(txn.body_limit) -m found } { req.hdr_val(content-length) gt 1000 } or ${BY_OWN}`,
      `${WAIT} if ${HG} { req.hdr_val(content-length) gt 0 }`,
      `${GATE} if ${HG} { req.hdr_cnt(transfer-encoding) gt 0 }`,
    ]);
    assert.deepEqual(bodyRules(e, true, PER_ROUTE), [
      `http-request set-var(txn.body_limit) LOOKUP if ${HG} HASID or ${H2} HASID`,
      `http-request deny deny_status 413 if ${HG} !{ var(txn.body_limit) -m found } { req.hdr_val(content-length) gt 1000 } or ${BY_OWN}`,
      `${WAIT} if ${HG} { req.hdr_val(content-length) gt 0 } or ${H2_UNKNOWN} { method GET HEAD }`,
      `${GATE} if ${HG} { req.hdr_cnt(transfer-encoding) gt 0 } or !{ method GET HEAD } ${H2_UNKNOWN} or ${H2_UNKNOWN} { req.body_len gt 0 }`,
    ]);
  });

  test('no global limit: only bodies of routes with a limit above 0 are judged or gated, never every body', () => {
    const e = edgeSettings({ maxBodyBytes: 0, bodyTimeoutSeconds: 60 });
    assert.deepEqual(bodyRules(e, false, PER_ROUTE), [
      `http-request set-var(txn.body_limit) LOOKUP if ${HG} HASID`,
      `http-request deny deny_status 413 if ${BY_OWN}`,
      `${WAIT} if ${HG} { req.hdr_val(content-length) gt 0 }`,
      `${GATE} if ${HG} { req.hdr_cnt(transfer-encoding) gt 0 } ${OWN}`,
    ]);
    // The HTTP/2 branches in a rule of their own: with the route-limit test in each, one rule would pass 64 words.
    assert.deepEqual(bodyRules(e, true, PER_ROUTE).slice(3), [
      `${GATE} if ${HG} { req.hdr_cnt(transfer-encoding) gt 0 } ${OWN}`,
      `${GATE} if !{ method GET HEAD } ${H2_UNKNOWN} ${OWN} or ${H2_UNKNOWN} { req.body_len gt 0 } ${OWN}`,
    ]);
  });

  test('without route limits the rules are as before: no variable, no route test', () => {
    const e = edgeSettings({ maxBodyBytes: 1000, bodyTimeoutSeconds: 60 });
    assert.deepEqual(bodyRules(e, false).slice(0, 2), [`http-request deny deny_status 413 if ${HG} { req.hdr_val(content-length) gt 1000 }`, `${WAIT} if ${HG} { req.hdr_val(content-length) gt 0 }`]);
    assert.deepEqual(bodyRules(edgeSettings({ maxBodyBytes: 0, bodyTimeoutSeconds: 60 }), true), [`${WAIT} if ${HG} { req.hdr_val(content-length) gt 0 }`]);
  });

  test('the filter, its Lua file, HTTP/2 detection and the gate exist when any limit does, a route limit alone included', () => {
    const none = edgeSettings({ maxBodyBytes: 0 });
    assert.equal(bodyLimitFiles(none).size, 0);
    assert.equal(bodyLimitFiles(none, false).size, 0);
    assert.equal(bodyLimitFiles(none, true).size, 1);
    assert.deepEqual(globalBodyLimitLines(none, '/d'), []);
    assert.deepEqual(globalBodyLimitLines(none, '/d', PER_ROUTE), ['lua-load /d/lua/body-limit.lua']);
    assert.deepEqual(bodySessionRules(none), []);
    assert.deepEqual(bodySessionRules(none, PER_ROUTE), ['tcp-request session set-var(sess.h2) bool(true) if { ssl_fc_alpn h2 }']);
    assert.deepEqual(bodyGateSections(none, OPTIONS.stateDir, 60, []), []);
    const [backend] = bodyGateSections(none, OPTIONS.stateDir, 60, [], [], PER_ROUTE);
    assert.match(backend ?? '', /\n {2}filter lua\.portico_body_limit 0\n/, 'the filter counts against the route limit only');
    assert.throws(() => bodyGateSections(edgeSettings({ maxBodyBytes: -1 }), OPTIONS.stateDir, 60, [], [], PER_ROUTE), /^Error: render: refusing body size -1/);
  });

  test('the gate backend carries the rules it is given, and none otherwise', () => {
    const e = edgeSettings({ maxBodyBytes: 1000 });
    const [plain] = bodyGateSections(e, OPTIONS.stateDir, 60, []);
    assert.doesNotMatch(plain ?? '', /set-timeout/);
    assert.deepEqual((plain ?? '').split('\n'), [
      'backend portico_body_gate',
      '  filter lua.portico_body_limit 1000',
      '  http-request set-header x-portico-gated-route %[var(txn.route)]',
      '  timeout server 120s',
      '  http-error status 400 content-type "text/plain; charset=utf-8" string "Request body refused: larger than the limit (413), or malformed (400)\\n"',
      '  http-after-response set-status 413 if { var(txn.body_refused) -m bool }',
      `  server gate unix@${OPTIONS.stateDir}/body-gate.sock proto h2`,
    ]);
    const [timed] = bodyGateSections(e, OPTIONS.stateDir, 60, [], gateTimeoutRules(2));
    assert.deepEqual((timed ?? '').split('\n').filter((l) => l.includes('set-timeout')), gateTimeoutRules(2).map((l) => `  ${l}`));
  });
});

describe('route limit and timeout values', () => {
  test('body sizes: whole bytes from 0 to 2^50, written as they are', () => {
    assert.equal(bodySizeValue(0), '0');
    assert.equal(bodySizeValue(2 ** 50), String(2 ** 50));
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 50 + 1, Number.POSITIVE_INFINITY]) assert.throws(() => bodySizeValue(bad), /^Error: render: refusing body size /, String(bad));
    assert.equal(BODY_SIZE_MAPS.bodySize, 'maps/body-size.map');
    assert.deepEqual(featuresOf({ redirectToHttps: false, maxBodyBytes: 0 }), ['bodySize']);
    assert.deepEqual(featuresOf({ redirectToHttps: false }), []);
  });

  test('timeouts: whole seconds from 1 to 2,147,483, written in milliseconds', () => {
    assert.equal(serverTimeoutValue(1), '1000');
    assert.equal(serverTimeoutValue(2_147_483), '2147483000');
    for (const bad of [0, -1, 1.5, Number.NaN, 2_147_484]) assert.throws(() => serverTimeoutValue(bad), /^Error: render: refusing server timeout /, String(bad));
    assert.equal(TIMEOUT_MAPS.serverTimeout, 'maps/server-timeout.map');
    assert.deepEqual(featuresOf({ redirectToHttps: false, serverTimeoutSeconds: 5 }), ['serverTimeout']);
    assert.deepEqual(featuresOf({ redirectToHttps: true }), []);
  });

  test('the timeout rules look the value up once and set both timeouts from it; the gate doubles it', () => {
    assert.deepEqual(serverTimeoutRules('/m', 'HASID', 'ID'), [
      'http-request set-var(txn.server_timeout) ID,map_str_int(/m) if HASID',
      'http-request set-timeout server var(txn.server_timeout) if { var(txn.server_timeout) -m found }',
      'http-request set-timeout tunnel var(txn.server_timeout) if { var(txn.server_timeout) -m found }',
    ]);
    assert.deepEqual(gateTimeoutRules(2), [
      'http-request set-timeout server var(txn.server_timeout),mul(2) if { var(txn.server_timeout) -m found }',
      'http-request set-timeout tunnel var(txn.server_timeout),mul(2) if { var(txn.server_timeout) -m found }',
    ]);
  });
});

describe('upstream-vhost values and rule', () => {
  test('the Host goes in the map as written; anything else is refused', () => {
    assert.equal(upstreamVhostValue('backend.internal:8080'), 'backend.internal:8080');
    for (const bad of ['', 'a b', '$host', 'a\nb', 'a:123456']) assert.throws(() => upstreamVhostValue(bad), /^Error: render: refusing upstream host /, JSON.stringify(bad));
    assert.equal(UPSTREAM_VHOST_MAPS.upstreamVhost, 'maps/upstream-vhost.map');
    assert.deepEqual(featuresOf({ redirectToHttps: false, upstreamHost: 'a' }), ['upstreamVhost']);
    assert.deepEqual(featuresOf({ redirectToHttps: false }), []);
    assert.deepEqual(upstreamVhostRules('/m', 'HASID', 'ID'), ['http-request set-header Host %[ID,map_str(/m)] if HASID { ID,map_str(/m) -m found }']);
  });
});
