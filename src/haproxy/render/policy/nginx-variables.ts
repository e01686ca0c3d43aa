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

/** The Lua text (local functions `unescape`, `escape_uri`, `joined`, `cookie`, `context`, `variable`, `expand`). */
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

local function cookie(headers, name)
  local line = joined(headers, 'cookie', '; ')
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

-- The request's context. host and http_host are nil unless the Host header is a plain host name (or an IPv6
-- literal) with an optional port: a variable made of them must never carry anything else into a URL or a Location.
-- $host is that name lowercased without port or trailing dot, as nginx makes it.
local function context(txn, scheme, headers)
  local raw = joined(headers, 'host', ',') or ''
  local host
  if string.match(raw, '^[%w%.%-]+$') or string.match(raw, '^[%w%.%-]+:%d+$') then
    host = string.gsub(string.lower(string.match(raw, '^[^:]*')), '%.$', '')
  elseif string.match(raw, '^%[[%x:%.]+%]$') or string.match(raw, '^%[[%x:%.]+%]:%d+$') then
    host = string.lower(string.match(raw, '^(%[[^%]]*%])'))
  end
  local uri = txn.f:pathq() or '/'
  return { host = host, http_host = host and raw, scheme = scheme, request_uri = uri, headers = headers, txn = txn }
end

-- One variable's value for this request, or nil when it cannot be had (an unknown name, a Host that is no host name).
local function variable(ctx, name)
  if name == 'host' or name == 'http_host' or name == 'scheme' or name == 'request_uri' then return ctx[name] end
  local txn = ctx.txn
  if name == 'escaped_request_uri' then return escape_uri(ctx.request_uri) end
  -- nginx's $uri is the path decoded (the caller neutralises what decoding can produce).
  if name == 'uri' then return unescape(txn.f:path() or '/') end
  if name == 'args' or name == 'query_string' then return txn.f:query() or '' end
  if name == 'remote_addr' then return tostring(txn.f:src()) end
  if name == 'request_method' then return txn.f:method() end
  if name == 'server_port' then return tostring(txn.f:dst_port()) end
  -- Portico's X-Request-ID: the client's, else the one Portico made (ingress-nginx's $req_id).
  if name == 'request_id' then return joined(ctx.headers, 'x-request-id', ', ') or '' end
  if name == 'proxy_add_x_forwarded_for' then return joined(ctx.headers, 'x-forwarded-for', ', ') or '' end
  if name == 'http_x_forwarded_for' then
    local lines = ctx.headers['x-forwarded-for']
    return lines and joined(ctx.headers, 'x-forwarded-for', ', ', #lines - 1) or ''
  end
  if name == 'remote_user' then
    local auth = joined(ctx.headers, 'authorization', ',') or ''
    local b64 = string.match(auth, '^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)$')
    local plain = b64 and txn.c:b64dec(b64)
    return plain and string.match(plain, '^([^:]*):') or ''
  end
  local h = string.match(name, '^http_(.*)$')
  if h then return joined(ctx.headers, (string.gsub(h, '_', '-')), h == 'cookie' and '; ' or ', ') or '' end
  local c = string.match(name, '^cookie_(.*)$')
  if c then return cookie(ctx.headers, c) end
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
