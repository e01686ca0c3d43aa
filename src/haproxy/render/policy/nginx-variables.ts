// nginx's request variables, computed per request in Lua: one implementation for every family whose values may hold
// them (external authentication's URLs and cache key, the snippet annotations' header values and `return`). Each
// family's script starts with this text, so both compute `$host` or `$http_<name>` the same way and a fix reaches both.
//
// What every variable means is written down once, in docs/annotations.md (snippet rows) and docs/architecture.md; the
// grammars that let a variable into a value (src/translate/annotations/auth-external.ts, snippets.ts) decide which of
// these a value may use. A variable this text does not know makes `expand` fail, and each caller fails closed on that.
//
// The request these functions read is the one HAProxy holds when the caller's action runs, which is after Portico's
// own forwarding headers (X-Forwarded-For appended as a line of its own, X-Real-IP, X-Request-ID set): so
// `$proxy_add_x_forwarded_for` is every X-Forwarded-For line, `$http_x_forwarded_for` every line but Portico's last.

/** The names `variable` computes (besides `http_<name>`, `cookie_<name>` and `arg_<name>`). */
export const LUA_VARIABLES = ['host', 'http_host', 'scheme', 'request_uri', 'escaped_request_uri', 'uri', 'args', 'query_string', 'remote_addr', 'remote_user', 'request_id', 'request_method', 'server_port', 'proxy_add_x_forwarded_for'] as const;

/** The Lua text (local functions `unescape`, `escape_uri`, `joined`, `cookie`, `context`, `headers_of`, `header`,
 * `host_of`, `request_uri_of`, `variable`, `expand`). */
export const NGINX_VARIABLES_LUA = `local function unescape(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

local function escape_uri(s)
  return (string.gsub(s, '[^%w%-%._~]', function(c) return string.format('%%%02X', string.byte(c)) end))
end

-- Every value of a header, in the order received, joined by sep; nil when the request has none. last, when given,
-- is the last line read (HAProxy numbers them from 0).
local function joined(headers, name, sep, last)
  local v = headers[name]
  if v == nil then return nil end
  local out = {}
  for i = 0, last or #v do if v[i] ~= nil then out[#out + 1] = v[i] end end
  if #out == 0 then return nil end
  return table.concat(out, sep)
end

local function cookie(line, name)
  if line == nil then return '' end
  for k, v in string.gmatch(';' .. line, ';%s*([^=;]+)=([^;]*)') do
    if string.gsub(k, '%s+$', '') == name then return (string.gsub(v, '%s+$', '')) end
  end
  return ''
end

-- nginx's $arg_<name>: the first argument of the query with that name (compared without case), as sent (not decoded).
local function argument(query, name)
  for pair in string.gmatch(query, '[^&]+') do
    local k, v = string.match(pair, '^([^=]*)=?(.*)$')
    if string.lower(k) == name then return v end
  end
  return ''
end

-- The request's context: what a variable needs is read from HAProxy on first use and kept for the request (the
-- headers table alone costs more than the rest of an expansion, and most templates need only the Host header). A
-- caller that has read the headers already passes them.
local function context(txn, scheme, headers)
  return { txn = txn, scheme = scheme, headers = headers }
end

local function headers_of(ctx)
  if ctx.headers == nil then ctx.headers = ctx.txn.http:req_get_headers() end
  return ctx.headers
end

-- A request header's values joined by sep, nil when it has none: a header sent once (nearly always) is one fetch;
-- only several lines take the whole table.
local function header(ctx, name, sep)
  if ctx.headers == nil then
    local n = ctx.txn.f:req_fhdr_cnt(name)
    if n == 0 then return nil end
    if n == 1 then return ctx.txn.f:req_fhdr(name) end
  end
  return joined(headers_of(ctx), name, sep)
end

-- $host and $http_host, both nil unless the request has one Host header and it is a plain host name (or an IPv6
-- literal) with an optional port: a variable made of them must never carry anything else into a URL or a Location.
-- $host is that name lowercased without port or trailing dot, as nginx makes it.
local function host_of(ctx)
  if ctx.host_read then return ctx.host end
  ctx.host_read = true
  local raw = ''
  if ctx.headers ~= nil then raw = joined(ctx.headers, 'host', ',') or ''
  elseif ctx.txn.f:req_fhdr_cnt('host') == 1 then raw = ctx.txn.f:req_fhdr('host') or '' end
  local host
  if string.match(raw, '^[%w%.%-]+$') or string.match(raw, '^[%w%.%-]+:%d+$') then
    host = string.gsub(string.lower(string.match(raw, '^[^:]*')), '%.$', '')
  elseif string.match(raw, '^%[[%x:%.]+%]$') or string.match(raw, '^%[[%x:%.]+%]:%d+$') then
    host = string.lower(string.match(raw, '^(%[[^%]]*%])'))
  end
  ctx.host, ctx.http_host = host, host and raw
  return host
end

local function request_uri_of(ctx)
  if ctx.request_uri == nil then ctx.request_uri = ctx.txn.f:pathq() or '/' end
  return ctx.request_uri
end

-- One variable's value for this request, or nil when it cannot be had (an unknown name, a Host that is no host name).
local function variable(ctx, name)
  local txn = ctx.txn
  if name == 'host' then return host_of(ctx) end
  if name == 'http_host' then host_of(ctx); return ctx.http_host end
  if name == 'scheme' then return ctx.scheme end
  if name == 'request_uri' then return request_uri_of(ctx) end
  if name == 'escaped_request_uri' then return escape_uri(request_uri_of(ctx)) end
  -- nginx's $uri is the path decoded (the caller neutralises what decoding can produce).
  if name == 'uri' then return unescape(txn.f:path() or '/') end
  if name == 'args' or name == 'query_string' then return txn.f:query() or '' end
  if name == 'remote_addr' then return tostring(txn.f:src()) end
  if name == 'request_method' then return txn.f:method() end
  if name == 'server_port' then return tostring(txn.f:dst_port()) end
  -- Portico's X-Request-ID: the client's, else the one Portico made (ingress-nginx's $req_id).
  if name == 'request_id' then return header(ctx, 'x-request-id', ', ') or '' end
  if name == 'proxy_add_x_forwarded_for' then return header(ctx, 'x-forwarded-for', ', ') or '' end
  if name == 'http_x_forwarded_for' then
    local headers = headers_of(ctx)
    local lines = headers['x-forwarded-for']
    return lines and joined(headers, 'x-forwarded-for', ', ', #lines - 1) or ''
  end
  if name == 'remote_user' then
    local auth = header(ctx, 'authorization', ',') or ''
    local b64 = string.match(auth, '^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)$')
    local plain = b64 and txn.c:b64dec(b64)
    return plain and string.match(plain, '^([^:]*):') or ''
  end
  local h = string.match(name, '^http_(.*)$')
  if h then return header(ctx, (string.gsub(h, '_', '-')), h == 'cookie' and '; ' or ', ') or '' end
  local c = string.match(name, '^cookie_(.*)$')
  if c then return cookie(header(ctx, 'cookie', '; '), c) end
  local a = string.match(name, '^arg_(.*)$')
  if a then return argument(txn.f:query() or '', a) end
  return nil
end

-- A template with its variables substituted in one pass (a "$" in a substituted value stays text); nil when one of
-- its variables cannot be had.
local function expand(ctx, template)
  local failed = false
  local out = string.gsub(template, '%$([%w_{}]*)', function(word)
    local name, rest = string.match(word, '^{([%w_]*)}(.*)$')
    if name == nil then name, rest = string.match(word, '^([%w_]*)(.*)$') end
    local v = variable(ctx, string.lower(name))
    if v == nil then failed = true; return '' end
    return v .. rest
  end)
  if failed then return nil end
  return out
end
`;
