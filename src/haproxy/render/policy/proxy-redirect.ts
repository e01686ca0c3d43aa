// Render side of proxy-redirect-from/-to, proxy-cookie-domain and proxy-cookie-path
// (src/translate/annotations/proxy-redirect.ts): nginx's proxy_redirect and proxy_cookie_* on the backend's response.
// HAProxy 2.6 edits a response header with an expression only from configuration text (`replace-header`, one rule
// per route, tested on every response), and cannot walk a Set-Cookie's attributes at all, so a route's rewrites are
// one map line keyed by its id and a Lua action applies them, only to responses that carry one of the three headers.
// `http-response` rules run on the backend's responses only, never on HAProxy's own answers, which is where nginx
// applies these directives too.
import type { HeaderRewrite, ProxyRewrite } from '../../../model/types.js';
import { policyFamily } from './family.js';

export const PROXY_REDIRECT_MAPS = { proxyRewrite: 'maps/proxy-rewrite.map' } as const;
export const PROXY_REDIRECT_LUA = 'lua/proxy-rewrite.lua';

// A line is `<flags>;<redirect>;<cookie domain>;<cookie path>`, each rewrite empty or `<kind>|<from>|<to>` (kinds:
// p prefix, d domain, r expression, i caseless expression); flags: `L` or `-` (a redirect rewrite or none), `C` or `-`
// (a cookie rewrite or none), which the rule's condition reads so that only a response with a header the route
// rewrites starts the action, then `r` relative-redirects, `p` use-port-in-redirects.
// Lines are parsed once and kept (expressions compiled), dropped all at once past a bound, since maps can bring new
// ones for as long as HAProxy runs. The action's arguments are the listener's scheme and port, written by render.
const LUA = `local cache, count = {}, 0

local function rule_of(field)
  local kind, from, to = string.match(field, '^([pdri])|([^|]*)|([^|]*)$')
  if kind == nil then return nil end
  local rule = { kind = kind, from = from, to = to, lfrom = string.lower(from) }
  if kind == 'r' or kind == 'i' then
    -- The second argument is "case-sensitive" (hlua_regex_comp hands it to regex_comp as cs).
    local ok, re = Regex.new(from, kind ~= 'i')
    if not ok then return nil end
    rule.re = re
  end
  return rule
end

local function line_of(text)
  local line = cache[text]
  if line ~= nil then return line end
  local flags, redirect, domain, path = string.match(text, '^[L-][C-]([rp]*);([^;]*);([^;]*);([^;]*)$')
  if flags == nil then return nil end
  line = {
    relative = string.find(flags, 'r', 1, true) ~= nil,
    port = string.find(flags, 'p', 1, true) ~= nil,
    redirect = rule_of(redirect),
    domain = rule_of(domain),
    path = rule_of(path),
  }
  if count >= 10000 then cache, count = {}, 0 end
  cache[text], count = line, count + 1
  return line
end

-- nginx's handlers (ngx_http_proxy_rewrite_*_handler): the new value, or nil when the rule does not apply.
local function rewrite(rule, value)
  if rule.kind == 'p' then
    if string.sub(value, 1, #rule.from) == rule.from then return rule.to .. string.sub(value, #rule.from + 1) end
  elseif rule.kind == 'd' then
    local dot = ''
    if string.sub(value, 1, 1) == '.' then dot, value = '.', string.sub(value, 2) end
    if string.lower(value) == rule.lfrom then return dot .. rule.to end
  elseif rule.re:exec(value) then
    return rule.to
  end
  return nil
end

-- The request's host as nginx's $host would complete a Location with (lowercase, no port or trailing dot), or nil
-- when the Host header is not a host name or an IPv6 literal: then the Location stays relative.
local function host_of(header)
  if header == nil then return nil end
  local h = string.lower(header)
  local v6, rest = string.match(h, '^(%[[%x:.]+%])(.*)$')
  if v6 ~= nil then
    if rest == '' or string.match(rest, '^:%d+$') then return v6 end
    return nil
  end
  local name, port = string.match(h, '^([a-z0-9._-]+)(.*)$')
  if name == nil or not (port == '' or string.match(port, '^:%d+$')) then return nil end
  name = string.gsub(name, '%.$', '')
  if name == '' then return nil end
  return name
end

-- The values of a response header, in order, or nil when it has none. Fetched one by one: building the table of
-- every header (res_get_headers) cost about a tenth of the action.
local function values_of(txn, name)
  local n = txn.f:res_fhdr_cnt(name)
  if n == nil or n == 0 then return nil end
  local out = {}
  for i = 1, n do out[i] = txn.f:res_fhdr(name, i) or '' end
  return out
end

-- Each value of a header through edit(value) (nil: unchanged); the header is written again only when one changed,
-- its values in their order. HAProxy keeps tune.maxrewrite (1 kB) of the buffer free for rewrites until the response
-- is analysed; past it an added header would be lost or the response answered 500. So a response's values grow by
-- at most GROWTH bytes in all (HTX block headers counted), and a value that would go beyond stays as sent.
local GROWTH = 960
local function edit_all(txn, name, edit, budget)
  local values = values_of(txn, name)
  if values == nil then return end
  local out, changed = {}, false
  for i, old in ipairs(values) do
    local v = edit(old)
    if v ~= nil then
      local grows = math.max(0, #v - #old) + 16
      if budget.used + grows <= GROWTH then
        budget.used, changed = budget.used + grows, true
      else
        v = nil
      end
    end
    out[i] = v or old
  end
  if not changed then return end
  txn.http:res_del_header(name)
  for _, v in ipairs(out) do txn.http:res_add_header(name, v) end
end

local SPACE = 32

-- ngx_http_proxy_parse_cookie: attributes split on ';', spaces (not tabs) around names and values dropped.
local function cookie_attributes(value)
  local attrs, start, byte, sub = {}, 1, string.byte, string.sub
  while true do
    local last = string.find(value, ';', start, true)
    local s, e = start, (last or (#value + 1)) - 1
    while s <= e and byte(value, s) == SPACE do s = s + 1 end
    local eq = string.find(value, '=', s, true)
    if eq ~= nil and eq <= e then
      local ne, vs = eq - 1, eq + 1
      while ne >= s and byte(value, ne) == SPACE do ne = ne - 1 end
      while vs <= e and byte(value, vs) == SPACE do vs = vs + 1 end
      while e >= vs and byte(value, e) == SPACE do e = e - 1 end
      attrs[#attrs + 1] = { name = sub(value, s, ne), value = sub(value, vs, e) }
    else
      while e >= s and byte(value, e) == SPACE do e = e - 1 end
      attrs[#attrs + 1] = { name = sub(value, s, e) }
    end
    if last == nil then return attrs end
    start = last + 1
  end
end

-- ngx_http_proxy_rewrite_cookie: every Domain and Path attribute through its rule; a changed cookie is written again
-- with its attributes joined by '; '. A cookie without either word anywhere is left alone unparsed.
local function cookie(line, value)
  local lower = string.lower(value)
  if not ((line.domain ~= nil and string.find(lower, 'domain', 1, true)) or (line.path ~= nil and string.find(lower, 'path', 1, true))) then
    return nil
  end
  local attrs = cookie_attributes(value)
  if attrs[1].value == nil then return nil end
  local changed = false
  for i = 2, #attrs do
    local a = attrs[i]
    if a.value ~= nil then
      local key, rule = string.lower(a.name), nil
      if key == 'domain' then rule = line.domain elseif key == 'path' then rule = line.path end
      if rule ~= nil then
        local v = rewrite(rule, a.value)
        if v ~= nil then a.value, changed = v, true end
      end
    end
  end
  if not changed then return nil end
  local parts = {}
  for i, a in ipairs(attrs) do
    parts[i] = a.value == nil and a.name or (a.name .. '=' .. a.value)
  end
  return table.concat(parts, '; ')
end

core.register_action('portico_proxy_rewrite', { 'http-res' }, function(txn, scheme, port)
  local text = txn:get_var('txn.prx')
  if text == nil then return end
  local line = line_of(text)
  if line == nil then return end
  local budget = { used = 0 }
  if line.redirect ~= nil then
    local rule = line.redirect
    -- nginx's absolute_redirect: a rewritten Location starting with '/' gets the request's scheme and host.
    local origin = nil
    if not line.relative then
      local host = host_of(txn:get_var('txn.prx_host'))
      if host ~= nil then
        local default = (scheme == 'https' and '443') or '80'
        origin = scheme .. '://' .. host .. ((line.port and port ~= default) and (':' .. port) or '')
      end
    end
    edit_all(txn, 'location', function(v)
      local new = rewrite(rule, v)
      if new ~= nil and origin ~= nil and string.sub(new, 1, 1) == '/' then new = origin .. new end
      return new
    end, budget)
    edit_all(txn, 'refresh', function(v)
      local at = string.find(string.lower(v), 'url=', 1, true)
      if at == nil then return nil end
      local new = rewrite(rule, string.sub(v, at + 4))
      if new == nil then return nil end
      return string.sub(v, 1, at + 3) .. new
    end, budget)
  end
  if line.domain ~= nil or line.path ~= nil then
    edit_all(txn, 'set-cookie', function(v) return cookie(line, v) end, budget)
  end
end, 2)
`;

/** Render's own checks: translate's alphabets (ingress-nginx's), which hold none of the line's separators. */
const WORD = /^[-._~A-Za-z0-9/:,?&=]{1,512}$/;
const KIND: Record<HeaderRewrite['kind'], string> = { prefix: 'p', domain: 'd', regex: 'r', regexCaseless: 'i' };

function field(r: HeaderRewrite | undefined, what: string): string {
  if (r === undefined) return '';
  for (const w of [r.from, r.to]) if (!WORD.test(w)) throw new Error(`render: refusing ${what} rewrite ${JSON.stringify(w.slice(0, 80))}`);
  return `${KIND[r.kind]}|${r.from}|${r.to}`;
}

/** A route's line in proxy-rewrite.map. */
export function proxyRewriteValue(p: ProxyRewrite): string {
  const flags = `${p.redirect ? 'L' : '-'}${p.cookieDomain || p.cookiePath ? 'C' : '-'}${p.relativeRedirects ? 'r' : ''}${p.portInRedirects ? 'p' : ''}`;
  return [flags, field(p.redirect, 'redirect'), field(p.cookieDomain, 'cookie domain'), field(p.cookiePath, 'cookie path')].join(';');
}

export const PROXY_REDIRECT_FAMILY = policyFamily({
  maps: PROXY_REDIRECT_MAPS,
  lua: { file: PROXY_REDIRECT_LUA, text: LUA },
  data: (p) => (p.proxyRewrite ? [['proxyRewrite', proxyRewriteValue(p.proxyRewrite)]] : []),
  rules: {
    upstream: (c) => {
      const [scheme, port] = c.tls ? ['https', c.self.https] : ['http', c.self.http];
      const listenerPort = /:(\d{1,5})$/.exec(port)?.[1];
      if (listenerPort === undefined) throw new Error(`render: refusing listener ${JSON.stringify(port)}`);
      const redirects = '{ var(txn.prx) -m beg L }';
      const cookies = '{ var(txn.prx) -m beg LC -C }';
      return [
        '# proxy-redirect-from/-to, proxy-cookie-domain/-path: the backend\'s Location, Refresh and Set-Cookie headers',
        '# rewritten as nginx\'s proxy_redirect and proxy_cookie_* do; the Host completes a rewritten relative Location.',
        `http-request set-var(txn.prx) ${c.routeId},map_str(${c.file('proxyRewrite')}) if ${c.hasId}`,
        `http-request set-var(txn.prx_host) req.fhdr(host) if ${redirects}`,
        // Only a response carrying a header the route rewrites pays for the action.
        `http-response lua.portico_proxy_rewrite ${scheme} ${listenerPort} if ${redirects} { res.fhdr(location) -m found } or ${redirects} { res.fhdr(refresh) -m found } or ${cookies} { res.fhdr(set-cookie) -m found }`,
      ];
    },
  },
});
