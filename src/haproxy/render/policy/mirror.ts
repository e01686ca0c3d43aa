// Render side of request mirroring (mirror-target, mirror-host, mirror-request-body; src/translate/annotations/mirror.ts).
// A mirrored route has one line in `mirror.map`, keyed by its id: whether the body goes (`b` or `n`), the URL template
// and the Host header, percent-encoded and joined by `;`, so the target is map data and a change is a map update.
//
// HAProxy 2.6 has no mirror directive. The Lua action copies what the mirror needs (method, URL, headers, body) and
// hands it to a task of its own (core.register_task), which sends it with HAProxy's HTTP client and ignores the
// answer; the action returns at once, so the client's request never waits for the mirror and never sees its failure.
// Bounds: at most MAX_IN_FLIGHT tasks exist at a time (beyond that a request is not mirrored, and counted), and a body
// is copied only when announced and at most MAX_BODY bytes, so the tasks hold at most MAX_IN_FLIGHT requests of a
// buffer's size. The counters are read on the runtime API: `portico mirror`.
import type { MirrorPolicy } from '../../../model/types.js';
import { policyFamily } from './family.js';
import { NGINX_VARIABLES_LUA } from './nginx-variables.js';

export const MIRROR_MAPS = { mirror: 'maps/mirror.map' } as const;
export const MIRROR_LUA = 'lua/mirror.lua';
/** Mirror requests in flight at once, per HAProxy process. */
export const MAX_IN_FLIGHT = 64;
/** The largest body a mirror receives; it must fit in HAProxy's buffer (16 kB) with the request's headers. */
export const MAX_BODY = 8192;
/** Milliseconds HAProxy's client waits for the mirror per try (it tries up to 4 times: its proxy's `retries 3`, and
 * it retries after a timeout too); long, so that a slow mirror rarely receives a request twice. */
export const TRY_TIMEOUT_MS = 10_000;
/** How long a mirrored route's request waits for its own (announced, small) body before going on without a mirror. */
export const BODY_WAIT = '5s';

const LUA = `local MAX_IN_FLIGHT, MAX_BODY, TRY_TIMEOUT = ${MAX_IN_FLIGHT}, ${MAX_BODY}, ${TRY_TIMEOUT_MS}
local in_flight = 0
local counts = { started = 0, finished = 0, busy = 0, method = 0, body = 0, errors = 0 }

${NGINX_VARIABLES_LUA}
-- HAProxy 2.6's HTTP client sends these methods only.
local SENDERS = { GET = 'get', HEAD = 'head', POST = 'post', PUT = 'put', DELETE = 'delete' }
-- Hop-by-hop and framing headers are the client connection's, not the request's; Host is mirror-host.
local DROP = {}
for _, h in ipairs({ 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te',
  'trailer', 'upgrade', 'expect', 'host' }) do DROP[h] = true end

-- The request's body when it is to be mirrored: '' for none, nil when the request must not be mirrored (a body larger
-- than MAX_BODY, of unannounced length, or not all there).
local function body_of(txn)
  local lengths = txn.f:req_fhdr_cnt('content-length')
  if lengths == 0 then
    if txn.f:req_fhdr_cnt('transfer-encoding') > 0 or (txn.f:req_body_len() or 0) > 0 then return nil end
    return ''
  end
  local length = lengths == 1 and tonumber(string.match(txn.f:req_fhdr('content-length') or '', '^%d+$')) or nil
  if length == nil or length > MAX_BODY then return nil end
  if length == 0 then return '' end
  local body = txn.f:req_body()
  if body == nil or #body ~= length then return nil end
  return body
end

local function send(sender, request)
  local hc = core.httpclient()
  return hc[sender](hc, request)
end

core.register_action('portico_mirror', { 'http-req' }, function(txn, scheme)
  local line = txn:get_var('txn.mirror')
  if line == nil then return end
  local fields = {}
  for field in string.gmatch(line .. ';', '([^;]*);') do fields[#fields + 1] = unescape(field) end
  if #fields ~= 3 then return end
  local sender = SENDERS[txn.f:method()]
  if sender == nil then counts.method = counts.method + 1; return end
  if in_flight >= MAX_IN_FLIGHT then counts.busy = counts.busy + 1; return end
  local body = ''
  if fields[1] == 'b' then
    body = body_of(txn)
    if body == nil then counts.body = counts.body + 1; return end
  end
  local request_headers = txn.http:req_get_headers()
  local url = expand(context(txn, scheme, request_headers), fields[2])
  -- The host is the one written in the annotation, whatever a variable of the request expanded to.
  local written = string.match(fields[2], '^https?://([^/?$]*)')
  if url == nil or not string.match(url, '^https?://[\\33-\\126]+$') or string.match(url, '^https?://([^/?#]*)') ~= written then
    counts.errors = counts.errors + 1
    return
  end
  if string.match(url, '^https?://[^/?#]*$') then url = url .. '/' end
  local headers = {}
  for name, values in pairs(request_headers) do
    if not DROP[name] then
      local list = {}
      for i = 0, #values do if values[i] ~= nil then list[#list + 1] = values[i] end end
      headers[name] = list
    end
  end
  headers['host'] = { fields[3] }
  local request = { url = url, headers = headers, timeout = TRY_TIMEOUT }
  if #body > 0 then
    headers['content-length'] = { tostring(#body) }
    request.body = body
  end
  in_flight = in_flight + 1
  counts.started = counts.started + 1
  core.register_task(function()
    -- Whatever happens to the request, its slot is given back.
    local ok = pcall(send, sender, request)
    in_flight = in_flight - 1
    if ok then counts.finished = counts.finished + 1 else counts.errors = counts.errors + 1 end
  end)
end, 1)

core.register_cli({ 'portico', 'mirror' }, 'portico mirror : counters of mirror-target', function(applet)
  applet:send(string.format('in_flight %d\\nstarted %d\\nfinished %d\\ndropped_busy %d\\ndropped_method %d\\ndropped_body %d\\nerrors %d\\n',
    in_flight, counts.started, counts.finished, counts.busy, counts.method, counts.body, counts.errors))
end)
`;

// Render's own checks: what translate's grammars let through, nothing a `;` could split or a Lua pattern misread.
const URL = /^https?:\/\/[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?(?::\d{1,5})?(?:[/?$][-._~A-Za-z0-9/:,?&=${}]*)?$/;
const HOST = /^[A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value) || value.length > 2048) throw new Error(`render: refusing mirror ${what} ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Every byte outside letters, digits and `- . _ ~ / :` percent-encoded: `;` (the separator), `$`, `%` and `?` too. */
function encode(value: string): string {
  return value.replace(/[^-._~A-Za-z0-9/:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** A route's line in mirror.map. */
export function mirrorValue(m: MirrorPolicy): string {
  return [m.body ? 'b' : 'n', checked(m.url, URL, 'URL'), checked(m.host, HOST, 'host')].map(encode).join(';');
}

export const MIRROR_FAMILY = policyFamily({
  maps: MIRROR_MAPS,
  lua: { file: MIRROR_LUA, text: LUA },
  data: (p) => (p.mirror ? [['mirror', mirrorValue(p.mirror)]] : []),
  rules: {
    upstream: (c) => [
      '# mirror-target: a copy of the request goes to the mirror from a Lua task; the request itself goes on at once. After',
      "# authentication (nginx mirrors in its precontent phase) and before anything edits the backend's request.",
      `http-request set-var(txn.mirror) ${c.routeId},map_str(${c.file('mirror')}) if ${c.hasId}`,
      `http-request wait-for-body time ${BODY_WAIT} if { var(txn.mirror) -m beg b } { req.body_size 1:${MAX_BODY} }`,
      `http-request lua.portico_mirror ${c.tls ? 'https' : 'http'} if { var(txn.mirror) -m found }`,
    ],
  },
});
