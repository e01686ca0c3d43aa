// The request body limit (--proxy-body-size, ingress-nginx's client_max_body_size): 413 for any body above it,
// whether its length is announced or not.
//
// A body with a Content-Length is judged before a byte of it is read, by one rule. A body of unknown length (HTTP/1.1
// chunked, HTTP/2 and 3 without content-length: uploads, gRPC streams) can only be counted as it streams, and HAProxy
// 2.6 has no setting for that: it takes a Lua filter. A filter declared where every request meets it would cost every
// request the Lua calls it makes per stream (measured: about 90,000 instructions, more than a whole plain request), so
// the filter sits in a gate of its own that only those requests take: a backend with the filter whose one server is a
// frontend on a unix socket, which sends the request on to the backend its route chose (carried across in a header
// that only the gate can set). Requests with an announced length, the great majority, never pass it.
import { HEADER_GATE, assertInt } from './edge.js';

/** What the limit needs to know; render refuses values outside these grammars. */
export interface BodyLimitSettings {
  /** Largest request body in bytes; 0: no limit. */
  maxBodyBytes: number;
  /** Seconds a client has to fill the request buffer with its body before 408. */
  bodyTimeoutSeconds: number;
}

/** The Lua file (relative to the generation directory) and the gate's socket (in the state directory). */
export const BODY_LIMIT_LUA = 'lua/body-limit.lua';
export const BODY_GATE_SOCKET = 'body-gate.sock';
export const GATE_BACKEND = 'portico_body_gate';
const GATE_FRONTEND = 'portico_body_gate_in';
/** Carries the route across the gate. Set by the gate backend with set-header, which replaces any value a client
 * sent; the gate's frontend listens on a socket only HAProxy can open. */
const GATE_ROUTE_HEADER = 'x-portico-gated-route';
/** The Lua error the filter raises to stop a body: logged by HAProxy on every refusal, so Portico's supervisor files
 * lines that hold it as routine (src/haproxy/process/supervisor.ts). */
export const BODY_REFUSED_MESSAGE = 'portico: request body above proxy-body-size';

// Why an error and not filter.ERROR: in HAProxy 2.6, http_payload's return value is the number of bytes to forward,
// compared as unsigned, so a negative one forwards everything; only a Lua error stops the stream, with a 400 that the
// gate backend's rules turn into 413.
const LUA = `-- Written by Portico (src/haproxy/render/body-limit.ts): counts a request body of unknown length as it streams.
local BodyLimit = {}
BodyLimit.id = 'portico body limit'
BodyLimit.flags = filter.FLT_CFG_FL_HTX
BodyLimit.__index = BodyLimit

function BodyLimit:new()
  return setmetatable({ limit = self.limit, seen = 0 }, BodyLimit)
end

function BodyLimit:start_analyze(txn, chn)
  if chn:is_resp() then return end
  -- A route's own limit (proxy-body-size), set by the frontend's rules; 0: none, nothing to count.
  local own = txn:get_var('txn.body_limit')
  if own ~= nil then self.limit = tonumber(own) end
  if self.limit > 0 then filter.register_data_filter(self, chn) end
end

function BodyLimit:http_payload(txn, msg)
  local n = msg:input()
  if self.seen + n > self.limit then
    txn:set_var('txn.body_refused', true)
    error('${BODY_REFUSED_MESSAGE}', 0)
  end
  self.seen = self.seen + n
  return n
end

core.register_filter('portico_body_limit', BodyLimit, function(class, args)
  class.limit = tonumber(args[1])
  return class
end)
`;

/**
 * A route's own limit (proxy-body-size) for the body rules: `lookup` is the expression giving it from the route's map
 * value, `hasId` the test that the value holds a route id. Absent while no route sets one.
 */
export interface RouteBodyLimits {
  lookup: string;
  hasId: string;
}

/** Whether bodies are counted at all: a global limit, or some route's own. */
function limited(e: BodyLimitSettings, perRoute: RouteBodyLimits | boolean | undefined): boolean {
  return assertInt(e.maxBodyBytes, 'body size') > 0 || (perRoute !== undefined && perRoute !== false);
}

/** Files the limit needs in the generation directory: the Lua filter, only when there is a limit. */
export function bodyLimitFiles(e: BodyLimitSettings, routeLimits = false): Map<string, string> {
  return new Map<string, string>(limited(e, routeLimits) ? [[BODY_LIMIT_LUA, LUA]] : []);
}

/** Lines of the global section. */
export function globalBodyLimitLines(e: BodyLimitSettings, filesDir: string, perRoute?: RouteBodyLimits): string[] {
  return limited(e, perRoute) ? [`lua-load ${filesDir}/${BODY_LIMIT_LUA}`] : [];
}

// HTTP/1 bodies are announced in headers, so their tests sit behind the header gate; HTTP/2 ones are tested directly.
const ANNOUNCED = `${HEADER_GATE} { req.hdr_val(content-length) gt 0 }`;
const UNKNOWN_LENGTH_H1 = `${HEADER_GATE} { req.hdr_cnt(transfer-encoding) gt 0 }`;
const H2 = '{ var(sess.h2) -m bool }';
const UNKNOWN_LENGTH_H2 = `${H2} !{ req.hdr_cnt(content-length) gt 0 }`;

/**
 * Frontend rules, after routing. An announced body above the limit gets 413 before the client sends it (as nginx
 * answers), and is otherwise buffered (up to HAProxy's 16 kB buffer) before a backend connection is taken, so that a
 * slow client ties up no backend. A body of unknown length is streamed (waiting for it would stall gRPC and other
 * streaming requests) through the gate: its route gets the gate's backend as a second field, before the route's own
 * (`flags|portico_body_gate|backend`), so the frontend's one use_backend line sends it there. An HTTP/2 GET or HEAD
 * without content-length almost never has a body, so HAProxy waits for the end of such a request (a body, if any,
 * arrives at once) and only one that brought a body takes the gate.
 *
 * Three rules, each behind the header gate or an HTTP/2 test, since each rule costs a plain request about 300
 * instructions even when its condition fails at the first test, and a header lookup several hundred more. The HTTP/2
 * tests only where HTTP/2 is spoken (`h2`: the HTTPS listener; the HTTP one refuses the HTTP/2 preface).
 */
export function bodyRules(e: BodyLimitSettings, h2: boolean, perRoute?: RouteBodyLimits): string[] {
  const limit = assertInt(e.maxBodyBytes, 'body size');
  const wait = `http-request wait-for-body time ${assertInt(e.bodyTimeoutSeconds, 'body timeout', 1)}s`;
  if (!limited(e, perRoute)) return [`${wait} if ${ANNOUNCED}`];
  // With routes of their own limits: the route's limit, read once (only where a body can be), counts instead of the
  // global one; with no global limit, only such routes' bodies are counted at all.
  const own = '{ var(txn.body_limit) -m found }';
  const ownLimit = '{ var(txn.body_limit) -m int gt 0 }';
  const needsGate = perRoute && limit === 0 ? ` ${ownLimit}` : '';
  const tooLong = [
    ...(limit > 0 ? [`${HEADER_GATE}${perRoute ? ` !${own}` : ''} { req.hdr_val(content-length) gt ${limit} }`] : []),
    ...(perRoute ? [`${HEADER_GATE} ${ownLimit} { req.hdr_val(content-length),sub(txn.body_limit) gt 0 }`] : []),
  ];
  const gateAction = `http-request set-var(txn.route) var(txn.route),regsub(\\|,|${GATE_BACKEND}|)`;
  const gate = `${gateAction} if ${UNKNOWN_LENGTH_H1}${needsGate}`;
  // HAProxy reads at most 64 words a line: with the route-limit test in every branch, the HTTP/2 branches take a rule
  // of their own (an HTTP/2 request never has Transfer-Encoding, so no request takes both).
  const h2Gate = `!{ method GET HEAD } ${UNKNOWN_LENGTH_H2}${needsGate} or ${UNKNOWN_LENGTH_H2} { req.body_len gt 0 }${needsGate}`;
  return [
    ...(perRoute ? [`http-request set-var(txn.body_limit) ${perRoute.lookup} if ${HEADER_GATE} ${perRoute.hasId}${h2 ? ` or ${H2} ${perRoute.hasId}` : ''}`] : []),
    `http-request deny deny_status 413 if ${tooLong.join(' or ')}`,
    h2 ? `${wait} if ${ANNOUNCED} or ${UNKNOWN_LENGTH_H2} { method GET HEAD }` : `${wait} if ${ANNOUNCED}`,
    ...(!h2 ? [gate] : needsGate === '' ? [`${gate} or ${h2Gate}`] : [gate, `${gateAction} if ${h2Gate}`]),
  ];
}

/**
 * Connection rules: whether the connection speaks HTTP/2, decided once per connection from the TLS handshake (Portico
 * offers h2 over TLS only), so that the request rules test a variable instead of asking the connection's multiplexer
 * on every request, which costs three times as much.
 */
export function bodySessionRules(e: BodyLimitSettings, perRoute?: RouteBodyLimits): string[] {
  return limited(e, perRoute) ? ['tcp-request session set-var(sess.h2) bool(true) if { ssl_fc_alpn h2 }'] : [];
}

/**
 * The gate: a backend holding the filter, and the frontend it hands requests to, which follows the route the outer
 * frontend chose. HTTP/2 between the two, so that a streaming request and its response flow both ways at once as
 * they do outside. The gate's own timeouts are twice the backends' so that the backend behind it times out first.
 * `afterResponse` are the outer frontend's rules that judge the backend's answer (502 or 503): they run in the
 * inner frontend, where the backend's server is known. `backendRules` set a route's own timeouts on the gate too.
 */
export function bodyGateSections(e: BodyLimitSettings, stateDir: string, serverTimeoutSeconds: number, afterResponse: string[], backendRules: string[] = [], perRoute?: RouteBodyLimits): string[] {
  if (!limited(e, perRoute)) return [];
  const socket = `${stateDir}/${BODY_GATE_SOCKET}`;
  const backend = [
    `backend ${GATE_BACKEND}`,
    `  filter lua.portico_body_limit ${assertInt(e.maxBodyBytes, 'body size', perRoute ? 0 : 1)}`,
    `  http-request set-header ${GATE_ROUTE_HEADER} %[var(txn.route)]`,
    `  timeout server ${2 * assertInt(serverTimeoutSeconds, 'server timeout', 1)}s`,
    ...backendRules.map((l) => `  ${l}`),
    `  http-error status 400 content-type "text/plain; charset=utf-8" string "Request body refused: larger than the limit (413), or malformed (400)\\n"`,
    '  http-after-response set-status 413 if { var(txn.body_refused) -m bool }',
    `  server gate unix@${socket} proto h2`,
  ];
  const frontend = [
    `frontend ${GATE_FRONTEND}`,
    `  bind unix@${socket} mode 600 proto h2`,
    `  http-request set-var(txn.route) req.fhdr(${GATE_ROUTE_HEADER})`,
    `  http-request del-header ${GATE_ROUTE_HEADER}`,
    ...afterResponse.map((l) => `  ${l}`),
    '  use_backend %[var(txn.route),field(3,|)]',
  ];
  return [backend.join('\n'), frontend.join('\n')];
}
