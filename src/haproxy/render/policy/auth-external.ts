// Render side of external authentication (auth-url and its companions; src/translate/annotations/auth-external.ts).
// A route with auth-url has one line in `auth.map`, keyed by its id: every setting, percent-encoded and joined by `;`,
// so the URL is map data (never configuration text) and a changed URL or setting is a map update. A Lua action asks
// the auth service with HAProxy's own HTTP client (the action yields while it waits; the request's thread goes on
// serving others) and leaves its verdict in variables; configuration rules answer from them, so every answer takes
// HAProxy's normal response path (the CORS and snippet headers, the Server header, the logs).
//
// Failing closed: the rules set nothing that lets a request pass; the action sets `txn.auth_verdict` to `pass` only
// after a 2xx, and the last rule answers 500 to every authenticated route's request without that verdict. So a Lua
// error, an abort or a verdict this file does not know never lets a request through.
import type { ExternalAuthPolicy } from '../../../model/types.js';
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';
import { NGINX_VARIABLES_LUA } from './nginx-variables.js';

// The headers map first: plan adds a route's headers before its auth line, and removes them after it.
export const AUTH_MAPS = { authProxyHeaders: 'maps/auth-proxy-headers.map', auth: 'maps/auth.map' } as const;
export const AUTH_LUA = 'lua/auth.lua';

/** At most this many of the auth service's Set-Cookie headers reach the client (one variable and rule each). */
export const MAX_COOKIES = 4;
/** Milliseconds HAProxy's client waits for the auth service per try; it tries 4 times (its proxy's `retries 3`). */
export const TRY_TIMEOUT_MS = 2500;

// The line's fields, in order: url, method ('' for none set), signin ('' for none), response headers (comma list),
// request redirect ('' for the request URI), always-set-cookie (0/1), dial self (0/1: the URL's host is $host or
// $http_host), cache key ('' for no cache), cache durations (`<status>.<status>:<seconds>/...`, `*` any status).
//
// The variables are computed once per request from the request itself, by the Lua shared with the snippet annotations
// (nginx-variables.ts): $host is the Host header lowercased without port or trailing dot (what routed the request),
// $http_host the header as sent; both must be plain host names (or an IPv6 literal) with an optional port, else the
// request gets 400, so a Host header can never put anything else into a URL or a Location. Values are substituted in
// one pass, so a `$` in a substituted value stays text.
const LUA = `local MAX_COOKIES, TRY_TIMEOUT = ${MAX_COOKIES}, ${TRY_TIMEOUT_MS}
local cache, cached = {}, 0

${NGINX_VARIABLES_LUA}
-- Headers of the client's request the auth service never receives as sent: framing, the body's, and those the auth
-- request sets itself (nginx's proxy_set_header in the auth location replaces them).
local DROP = {}
for _, h in ipairs({ 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te',
  'trailer', 'upgrade', 'expect', 'host', 'x-forwarded-proto', 'x-forwarded-for', 'x-real-ip', 'x-original-url',
  'x-original-method', 'x-original-uri', 'x-scheme', 'x-sent-from', 'x-auth-request-redirect' }) do DROP[h] = true end

local function duration(spec, status)
  for part in string.gmatch(spec, '[^/]+') do
    local codes, seconds = string.match(part, '^([^:]*):(%d+)$')
    if codes == '*' then return tonumber(seconds) end
    for code in string.gmatch(codes or '', '%d+') do
      if tonumber(code) == status then return tonumber(seconds) end
    end
  end
  return nil
end

local function cacheable(res)
  if res.headers['set-cookie'] ~= nil then return false end
  local cc = string.lower(joined(res.headers, 'cache-control', ',') or '')
  return not (string.find(cc, 'no-store', 1, true) or string.find(cc, 'no-cache', 1, true) or string.find(cc, 'private', 1, true))
end

-- Asks the auth service; nil when no answer could be had at all.
local function ask(ctx, f, url, self_addr)
  local headers = {}
  for name, values in pairs(ctx.headers) do
    if not DROP[name] then headers[name] = values end
  end
  local authority = string.match(url, '^https?://([^/?]*)') or ''
  headers['host'] = { (string.gsub(authority, ':%d+$', '')) }
  headers['x-original-url'] = { ctx.scheme .. '://' .. ctx.http_host .. ctx.request_uri }
  headers['x-original-method'] = { ctx.txn.f:method() }
  headers['x-sent-from'] = { 'nginx-ingress-controller' }
  local client = tostring(ctx.txn.f:src())
  headers['x-real-ip'] = { client }
  headers['x-forwarded-for'] = { client }
  headers['x-auth-request-redirect'] = { f.redirect ~= '' and f.redirect or ctx.request_uri }
  if f.method ~= '' then
    headers['x-original-uri'] = { ctx.request_uri }
    headers['x-scheme'] = { ctx.scheme }
  end
  -- auth-proxy-set-headers: they replace the client's and Portico's own (never Host: translate refuses it).
  local extra = ctx.txn:get_var('txn.auth_headers')
  if extra ~= nil then
    for name, template in string.gmatch(extra, '([%w_-]+)=([^;]*)') do
      local v = expand(ctx, unescape(template))
      if v == nil then return nil end
      v = string.gsub(v, '[%c\\127]', function(c) return string.format('%%%02X', string.byte(c)) end)
      if v == '' then headers[name] = nil else headers[name] = { v } end
    end
  end
  -- auth-snippet's proxy_set_header, last, as nginx's auth location has it after its own. A variable can bring a
  -- control character (from a decoded $uri): it goes as %XX, never as a line break in the request.
  for name, template in string.gmatch(f.snippet, '([^\\n]+)\\n([^\\n]*)\\n') do
    local v = expand(ctx, template)
    if v == nil or #v > 8192 then return nil end
    v = string.gsub(v, '[%c]', function(c) return string.format('%%%02X', string.byte(c)) end)
    headers[name] = v ~= '' and { v } or nil
  end
  local request = { url = url, headers = headers, timeout = TRY_TIMEOUT }
  if f.self == '1' then request.dst = self_addr[string.match(url, '^(https?)')] end
  local hc = core.httpclient()
  local method = f.method == '' and 'GET' or f.method
  local send = ({ GET = hc.get, HEAD = hc.head, POST = hc.post, PUT = hc.put, DELETE = hc.delete })[method]
  if send == nil then return nil end
  local res = send(hc, request)
  if res == nil or res.status == nil then return nil end
  local kept = { status = res.status, headers = {} }
  for name, values in pairs(res.headers or {}) do kept.headers[string.lower(name)] = values end
  return kept, res
end

local function set_cookies(txn, headers)
  local values = headers['set-cookie']
  if values == nil then return end
  local n = 0
  for i = 0, #values do
    local v = values[i]
    if v ~= nil and n < MAX_COOKIES and string.match(v, '^[\\32-\\126]+$') then
      n = n + 1
      txn:set_var('txn.auth_cookie' .. n, v)
    end
  end
end

local function copy_headers(txn, f, answer, request_headers)
  if f.headers == '' then return end
  local listed = {}
  for name in string.gmatch(f.headers, '[^,]+') do listed[name] = true end
  -- A client's own copy goes, under its name or one with '_' for '-', which many backends read alike.
  for name in pairs(request_headers) do
    if listed[(string.gsub(name, '_', '-'))] or listed[name] then txn.http:req_del_header(name) end
  end
  for name in pairs(listed) do
    local v = joined(answer, name, ', ')
    if v ~= nil and string.match(v, '^[\\32-\\126]*$') then txn.http:req_set_header(name, v) end
  end
end

core.register_action('portico_auth', { 'http-req' }, function(txn, scheme, self_http, self_https)
  local line = txn:get_var('txn.auth')
  if line == nil then return end
  local fields = {}
  for field in string.gmatch(line .. ';', '([^;]*);') do fields[#fields + 1] = unescape(field) end
  if #fields ~= 9 and #fields ~= 10 then return end
  local f = { url = fields[1], method = fields[2], signin = fields[3], headers = fields[4], redirect = fields[5],
    always = fields[6], self = fields[7], key = fields[8], durations = fields[9], snippet = (fields[10] or '') .. '\\n' }
  local request_headers = txn.http:req_get_headers()
  local ctx = context(txn, scheme, request_headers)
  if host_of(ctx) == nil then txn:set_var('txn.auth_verdict', '400'); return end
  request_uri_of(ctx)
  local url = expand(ctx, f.url)
  if url == nil or not string.match(url, '^https?://[^%s]+$') then return end

  local answer
  local key
  if f.key ~= '' then
    local k = expand(ctx, f.key)
    if k ~= nil then
      key = (string.match(txn:get_var('txn.route') or '', '[^|]*$') or '') .. '\\0' .. k
      local hit = cache[key]
      if hit ~= nil and hit.expires > core.now().sec then answer = hit.answer end
    end
  end
  if answer == nil then
    local res
    answer, res = ask(ctx, f, url, { http = self_http, https = self_https })
    if answer == nil then return end
    local ttl = key and duration(f.durations, answer.status)
    if ttl ~= nil and ttl > 0 and cacheable(res) then
      if cached >= 10000 then cache, cached = {}, 0 end
      cache[key] = { answer = answer, expires = core.now().sec + ttl }
      cached = cached + 1
    end
  end

  local status = answer.status
  if f.always == '1' then txn:set_var('txn.auth_always', true) end
  if status >= 200 and status < 300 then
    set_cookies(txn, answer.headers)
    copy_headers(txn, f, answer.headers, request_headers)
    txn:set_var('txn.auth_verdict', 'pass')
  elseif status == 401 then
    set_cookies(txn, answer.headers)
    if f.signin ~= '' then
      local location = expand(ctx, f.signin)
      if location == nil or not string.match(location, '^https?://[\\33-\\126]+$') then return end
      txn:set_var('txn.auth_location', location)
      txn:set_var('txn.auth_verdict', 'signin')
    else
      local www = joined(answer.headers, 'www-authenticate', ', ')
      if www ~= nil and string.match(www, '^[\\32-\\126]+$') then txn:set_var('txn.auth_www', www) end
      txn:set_var('txn.auth_verdict', '401')
    end
  elseif status == 403 then
    txn:set_var('txn.auth_verdict', '403')
  end
end, 3)
`;

// Render's own checks: what translate's grammars let through, nothing a `;` could split or a Lua pattern misread.
const URL = /^(https?|\$scheme|\$\{scheme\}):\/\/[-._~A-Za-z0-9/:,?&=${}]{1,2040}$/i;
const METHOD = /^(GET|HEAD|POST|PUT|DELETE)$/;
const HEADER = /^[a-z0-9_-]{1,128}$/;
const REQUEST_REDIRECT = /^[-._~A-Za-z0-9/:?&=]{1,2048}$/;
const KEY = /^[-_A-Za-z0-9${}]{1,512}$/;
/** auth-snippet's headers as translate admits them: no framing header, no Host, printable ASCII values. */
const SNIPPET_HEADER = /^(?!(content-length|transfer-encoding|connection|keep-alive|proxy-connection|upgrade|te|trailer|host|x-portico-.*)$)[a-z0-9][a-z0-9_-]{0,127}$/;
const SNIPPET_VALUE = /^[\x20-\x7e]{0,1024}$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing auth ${what} ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Every byte outside letters, digits and `- . _ ~ / :` percent-encoded: `;` (the separator), `$`, `%` and `?` too. */
function encode(value: string): string {
  return value.replace(/[^-._~A-Za-z0-9/:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function durationsField(a: ExternalAuthPolicy): string {
  return (a.cacheDurations ?? [])
    .map((d) => {
      if (!Number.isFinite(d.seconds) || d.seconds < 0 || d.seconds > 31_536_000) throw new Error(`render: refusing auth cache duration ${d.seconds}`);
      for (const s of d.statuses) if (!Number.isInteger(s) || s < 100 || s > 599) throw new Error(`render: refusing auth cache status ${s}`);
      return `${d.statuses.length === 0 ? '*' : d.statuses.join('.')}:${Math.ceil(d.seconds)}`;
    })
    .join('/');
}

/** The host of a URL template is `$host` or `$http_host`: dialled on Portico's own listener. */
export function dialsSelf(url: string): boolean {
  return /^[^:]*:\/\/\$(\{)?(http_)?host\b/.test(url);
}

/** A route's line in auth.map. */
export function authValue(a: ExternalAuthPolicy): string {
  const fields = [
    checked(a.url, URL, 'URL'),
    a.method === undefined ? '' : checked(a.method, METHOD, 'method'),
    a.signin === undefined ? '' : checked(a.signin, URL, 'signin URL'),
    a.responseHeaders.map((h) => checked(h, HEADER, 'response header')).join(','),
    a.requestRedirect === undefined ? '' : checked(a.requestRedirect, REQUEST_REDIRECT, 'request redirect'),
    a.alwaysSetCookie ? '1' : '0',
    dialsSelf(a.url) ? '1' : '0',
    a.cacheKey === undefined ? '' : checked(a.cacheKey, KEY, 'cache key'),
    a.cacheKey === undefined ? '' : durationsField(a),
  ];
  if (a.requestHeaders !== undefined && a.requestHeaders.length > 0) fields.push(a.requestHeaders.map(([n, v]) => `${checked(n, SNIPPET_HEADER, 'snippet header')}\n${checked(v, SNIPPET_VALUE, 'snippet header value')}`).join('\n'));
  return fields.map(encode).join(';');
}

const PROXY_HEADER = /^[a-z0-9][a-z0-9_-]{0,127}$/;
const PROXY_PROTECTED = /^(host|content-length|transfer-encoding|connection|keep-alive|proxy-connection|upgrade|te|trailer|x-portico-.*)$/;

/** A route's line in auth-proxy-headers.map: `<name>=<percent-encoded template>;...`, in name order. */
export function authProxyHeadersValue(headers: Record<string, string>): string {
  return Object.keys(headers)
    .sort()
    .map((name) => {
      const value = headers[name]!;
      if (!PROXY_HEADER.test(name) || PROXY_PROTECTED.test(name) || value.length > 1024 || /[^\x20-\x7e]/.test(value)) throw new Error(`render: refusing auth proxy header ${JSON.stringify(name.slice(0, 80))}`);
      return `${name}=${encode(value)}`;
    })
    .join(';');
}

/** An address Lua may dial as Portico's own listener: `ip:port`, checked. */
export interface SelfAddresses {
  http: string;
  https: string;
}

const SELF = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]{2,45}\]):\d{1,5}$/;
const COOKIE_STATUSES = '200 201 204 206 301 302 303 304 307 308';
const PLAIN = 'content-type "text/plain; charset=utf-8"';

export function authRequestRules(file: string, hasId: string, routeId: string, tls: boolean, self: SelfAddresses, satisfyAny = false, headersFile?: string): string[] {
  const verdict = (v: string): string => `{ var(txn.auth_verdict) -m str ${v} }`;
  return [
    '# External authentication (auth-url): the auth service decides, after the access lists, the CORS preflight, the',
    '# redirects and rule T9, as nginx runs auth_request after its rewrite phase, and before the backend\'s request is',
    "# edited. Only the action's `pass` lets a request on; any other outcome (an error in the action too) is refused.",
    // satisfy: any (policy/satisfy.ts): a request the access lists allowed does not ask the auth service.
    `http-request set-var(txn.auth) ${routeId},map_str(${file}) if ${hasId}${satisfyAny ? ' !{ var(txn.satisfy) -m str any }' : ''}`,
    ...(headersFile === undefined ? [] : [`http-request set-var(txn.auth_headers) ${routeId},map_str(${headersFile}) if { var(txn.auth) -m found }`]),
    `http-request lua.portico_auth ${tls ? 'https' : 'http'} ${checked(self.http, SELF, 'listener')} ${checked(self.https, SELF, 'listener')} if { var(txn.auth) -m found }`,
    `http-request return status 302 hdr Location "%[var(txn.auth_location)]" if ${verdict('signin')}`,
    `http-request return status 401 ${PLAIN} hdr WWW-Authenticate "%[var(txn.auth_www)]" string "401 Unauthorized\\n" if ${verdict('401')} { var(txn.auth_www) -m found }`,
    `http-request return status 401 ${PLAIN} string "401 Unauthorized\\n" if ${verdict('401')}`,
    `http-request return status 403 ${PLAIN} string "403 Forbidden: the authentication service refused this request\\n" if ${verdict('403')}`,
    `http-request return status 400 ${PLAIN} string "400 Bad Request: the Host header is not a host name\\n" if ${verdict('400')}`,
    `http-request return status 500 ${PLAIN} string "500 Internal Server Error: the authentication service gave no usable answer\\n" if { var(txn.auth) -m found } !${verdict('pass')}`,
  ];
}

export function authResponseRules(): string[] {
  return Array.from({ length: MAX_COOKIES }, (_, i) => {
    const found = `{ var(txn.auth_cookie${i + 1}) -m found }`;
    return `http-after-response add-header Set-Cookie "%[var(txn.auth_cookie${i + 1})]" if ${found} { status ${COOKIE_STATUSES} } or ${found} { var(txn.auth_always) -m bool }`;
  });
}

export const AUTH_FAMILY = policyFamily<keyof typeof AUTH_MAPS>({
  maps: AUTH_MAPS,
  lua: { file: AUTH_LUA, text: LUA },
  data: (p) => {
    const a = p.externalAuth;
    if (!a) return [];
    const out: PolicyDatum<keyof typeof AUTH_MAPS>[] = [];
    if (a.proxySetHeaders && Object.keys(a.proxySetHeaders).length > 0) out.push(['authProxyHeaders', authProxyHeadersValue(a.proxySetHeaders)]);
    out.push(['auth', authValue(a)]);
    return out;
  },
  implies: { authProxyHeaders: ['auth'] },
  rules: {
    upstream: (c) => (c.inUse.has('auth') ? authRequestRules(c.file('auth'), c.hasId, c.routeId, c.tls, c.self, c.satisfyAny !== undefined, c.inUse.has('authProxyHeaders') ? c.file('authProxyHeaders') : undefined) : []),
    response: (c) => (!c.inUse.has('auth') ? [] : [
      "# External authentication: the auth service's Set-Cookie, on nginx's add_header statuses unless auth-always-set-cookie.",
      ...authResponseRules(),
    ]),
  },
});
