// Render side of custom-http-errors (src/translate/annotations/default-backend.ts), for a route that also has the
// default-backend annotation. Its line in `custom-errors.map` holds, percent-encoded and joined by `;`: the codes
// (`.`-joined), the default backend's section, and what the error backend learns of the route (namespace, Ingress,
// Service, port as written). The request's side is kept in variables while the request is there (its Accept, Host and
// X-Request-ID); the URI is `capture.req.uri` (as the client sent it, before any rewrite), which HAProxy keeps for the
// response. A Lua action on the backend's response, when its status is one of the codes, asks a server of the default
// backend's section (an address HAProxy holds, never one a request names) with HAProxy's own HTTP client, GET `/` with
// ingress-nginx's X-* headers, and answers the client with that server's status, Content-Type and body
// (nginx's `error_page <code> = @custom_...`: the named location's status). No answer from it: the backend's response
// goes on unchanged.
import type { CustomHttpErrors } from '../../../model/types.js';
import { policyFamily } from './family.js';

export const CUSTOM_ERRORS_MAPS = { customErrors: 'maps/custom-errors.map' } as const;
export const CUSTOM_ERRORS_LUA = 'lua/custom-errors.lua';
/** Milliseconds HAProxy's client waits for the error backend. */
export const ERROR_PAGE_TIMEOUT_MS = 5000;

const LUA = `local TIMEOUT = ${ERROR_PAGE_TIMEOUT_MS}
local turn = 0

local function unescape(s)
  return (string.gsub(s, '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end))
end

local function printable(v)
  if v == nil or not string.match(v, '^[\\32-\\126]*$') then return '' end
  return v
end

-- The address of a usable server of the section (UP, or without checks; not DOWN, MAINT or DRAIN), in turn: nil when
-- it has none. Server:is_draining() is not used: HAProxy 2.6 answers true for Portico's servers without checks.
local function server_of(section)
  local be = core.backends[section]
  if be == nil then return nil end
  local usable = {}
  for _, srv in pairs(be.servers) do
    local st = srv:get_stats()
    local status = st and st.status or ''
    if (string.sub(status, 1, 2) == 'UP' or status == 'no check') then
      local addr = srv:get_addr()
      if addr ~= nil and string.match(addr, '^[%x.:%[%]]+:%d+$') then usable[#usable + 1] = addr end
    end
  end
  if #usable == 0 then return nil end
  table.sort(usable)
  turn = turn + 1
  local addr = usable[(turn % #usable) + 1]
  -- An IPv6 address comes as <address>:<port>: the URL needs brackets.
  local ip, port = string.match(addr, '^(.*):(%d+)$')
  if string.find(ip, ':', 1, true) and not string.find(ip, '[', 1, true) then addr = '[' .. ip .. ']:' .. port end
  return addr
end

core.register_action('portico_custom_errors', { 'http-res' }, function(txn)
  local line = txn:get_var('txn.cerr')
  if line == nil then return end
  local fields = {}
  for field in string.gmatch(line .. ';', '([^;]*);') do fields[#fields + 1] = unescape(field) end
  if #fields ~= 6 then return end
  local status = txn.f:status()
  local listed = false
  for code in string.gmatch(fields[1], '%d+') do
    if tonumber(code) == status then listed = true end
  end
  if not listed then return end
  local addr = server_of(fields[2])
  if addr == nil then return end
  local headers = {
    ['host'] = { printable(txn:get_var('txn.cerr_host')) },
    ['x-code'] = { tostring(status) },
    ['x-format'] = { printable(txn:get_var('txn.cerr_accept')) },
    ['x-original-uri'] = { printable(txn.f:capture_req_uri()) },
    ['x-namespace'] = { fields[3] },
    ['x-ingress-name'] = { fields[4] },
    ['x-service-name'] = { fields[5] },
    ['x-service-port'] = { fields[6] },
    ['x-request-id'] = { printable(txn:get_var('txn.cerr_id')) },
    ['x-forwarded-for'] = { tostring(txn.f:src()) },
  }
  local hc = core.httpclient()
  local res = hc:get({ url = 'http://' .. addr .. '/', headers = headers, timeout = TIMEOUT })
  if res == nil or res.status == nil or res.status < 100 or res.status > 599 then return end
  local reply_headers = {}
  for name, values in pairs(res.headers or {}) do
    if string.lower(name) == 'content-type' and values[0] ~= nil and string.match(values[0], '^[\\32-\\126]+$') then
      reply_headers['content-type'] = { values[0] }
    end
  end
  local reply = txn:reply({ status = res.status, headers = reply_headers, body = res.body or '' })
  txn:done(reply)
end)
`;

// Render's own checks: what translate lets through (Kubernetes names, a port number or name), nothing else.
const SECTION = /^[A-Za-z0-9_.:-]{1,300}$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const PORT = /^([0-9]{1,5}|[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?)$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing custom-http-errors ${what} ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Every byte outside letters, digits and `- . _ ~ :` percent-encoded (`;`, the separator, too). */
function encode(value: string): string {
  return value.replace(/[^-._~A-Za-z0-9:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** A route's line in custom-errors.map. */
export function customErrorsValue(e: CustomHttpErrors, defaultBackend: string, sectionOf: (backend: string) => string): string {
  if (e.codes.length === 0) throw new Error('render: refusing custom-http-errors without codes');
  for (const c of e.codes) if (!Number.isInteger(c) || c < 400 || c > 599) throw new Error(`render: refusing custom-http-errors code ${c}`);
  return [
    e.codes.join('.'),
    checked(sectionOf(defaultBackend), SECTION, 'section'),
    checked(e.namespace, NAME, 'namespace'),
    checked(e.ingress, NAME, 'Ingress name'),
    checked(e.service, NAME, 'Service name'),
    checked(e.port, PORT, 'port'),
  ]
    .map(encode)
    .join(';');
}

export const CUSTOM_ERRORS_FAMILY = policyFamily({
  maps: CUSTOM_ERRORS_MAPS,
  lua: { file: CUSTOM_ERRORS_LUA, text: LUA },
  data: (p, sectionOf) =>
    p.customHttpErrors !== undefined && p.defaultBackend !== undefined ? [['customErrors', customErrorsValue(p.customHttpErrors, p.defaultBackend, sectionOf)]] : [],
  rules: {
    upstream: (c) => [
      "# custom-http-errors: what the error backend learns of the request, kept while the request is there.",
      `http-request set-var(txn.cerr) ${c.routeId},map_str(${c.file('customErrors')}) if ${c.hasId}`,
      'http-request set-var(txn.cerr_accept) req.fhdr(accept) if { var(txn.cerr) -m found }',
      'http-request set-var(txn.cerr_host) req.fhdr(host) if { var(txn.cerr) -m found }',
      'http-request set-var(txn.cerr_id) req.fhdr(x-request-id) if { var(txn.cerr) -m found }',
    ],
    backend: () => [
      "# custom-http-errors: a listed status of the backend's response is replaced by the default backend's answer.",
      'http-response lua.portico_custom_errors if { var(txn.cerr) -m found } { status 400:599 }',
    ],
  },
});
