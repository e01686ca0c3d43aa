// Render side of canary Ingresses (src/translate/annotations/canary.ts). A route with a canary has one line in
// `canary.map`: the section serving the canary's backend (resolved like any backend's, a spare bound at runtime
// included) and its decision inputs, in one word so that a plain request of a route with other features pays one
// lookup and one variable test for the whole family. A small Lua action reads headers and cookies by the names the
// line holds, so no user string is configuration text and a new header name needs no reload; the weighted draw
// uses HAProxy's own `rand`. When the canary wins, the action puts the canary's section in the route value
// (`<flags>|<section>|<id>`), which use_backend and the body gate read afterwards.
import type { CanaryPolicy } from '../../../model/types.js';
import { LUA_MATCHES } from './lua-regex.js';
import { policyFamily } from './family.js';

export const CANARY_MAPS = { canary: 'maps/canary.map' } as const;
export const CANARY_LUA = 'lua/canary.lua';

// The line: `<section>;<weight>;<total>;<header>;<cookie>;<match>`, match being `=<value>`, `~<pattern>` or empty.
// `;` is in no field's grammar but the pattern's, which never holds one either (path-regex.ts), and comes last.
// The header is read as nginx's $http_<name>: the first header of that name. A section with no usable server (a
// Service without endpoints) gets no request, as ingress-nginx drops the balancer of a backend without endpoints.
// Compiled patterns are kept per text, and dropped all at once past a bound, since maps can bring new ones for as
// long as HAProxy runs.
const LUA = `${LUA_MATCHES}
local function cookie_value(headers, name)
  local lines = headers['cookie']
  if lines == nil then return nil end
  for i = 0, #lines do
    local line = lines[i]
    if line ~= nil then
      for k, v in string.gmatch(';' .. line, ';%s*([^=;]+)=([^;]*)') do
        if string.lower((string.gsub(k, '%s+$', ''))) == name then return (string.gsub(v, '%s+$', '')) end
      end
    end
  end
  return nil
end

local function wins(txn, weight, total, header, cookie, match)
  local headers = txn.http:req_get_headers()
  if header ~= '' then
    local values = headers[header]
    local v = values and values[0]
    if v ~= nil then
      local kind = string.sub(match, 1, 1)
      if kind == '=' then
        if v == string.sub(match, 2) then return true end
      elseif kind == '~' then
        if matches(string.sub(match, 2), v) then return true end
      elseif v == 'always' then return true
      elseif v == 'never' then return false
      end
    end
  end
  if cookie ~= '' then
    local v = cookie_value(headers, cookie)
    if v == 'always' then return true end
    if v == 'never' then return false end
  end
  return weight > 0 and txn.f:rand(total) < weight
end

core.register_action('portico_canary', { 'http-req' }, function(txn)
  local line = txn:get_var('txn.canary')
  local route = txn:get_var('txn.route')
  if line == nil or route == nil then return end
  local section, weight, total, header, cookie, match = string.match(line, '^([^;]+);(%d+);(%d+);([^;]*);([^;]*);(.*)$')
  if section == nil then return end
  if not wins(txn, tonumber(weight), tonumber(total), header, cookie, match) then return end
  -- A worker replaced by a reload counts no usable server anywhere (HAProxy 2.6.12, fixed after it) while it answers
  -- its idle connections' last requests: the canary's servers are then taken as they were.
  if not txn.f:stopping() and txn.f:nbsrv(section) == 0 then return end
  local flags, rest = string.match(route, '^([^|]*)|[^|]*(.*)$')
  if flags ~= nil then txn:set_var('txn.route', flags .. '|' .. section .. rest) end
end)
`;

const SECTION = /^[A-Za-z0-9_.:-]{1,300}$/;
const HEADER = /^[a-z0-9-]{1,256}$/;
const VALUE = /^[-._~A-Za-z0-9/:]{1,256}$/;
const COOKIE = /^[-._~a-z0-9]{1,256}$/;
// translate's grammar (path-regex.ts) decides the structure; render re-checks that nothing outside its alphabet, and
// no `;`, reaches the line.
const PATTERN = /^[-._~A-Za-z0-9/:&=^$[\](){}*+?|\\,]{1,1024}$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing canary ${what} ${JSON.stringify(value)}`);
  return value;
}

function count(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new Error(`render: refusing canary ${what} ${n}`);
  return String(n);
}

/** A route's line in canary.map, with the canary's section as `sectionOf` names it. */
export function canaryValue(c: CanaryPolicy, sectionOf: (backend: string) => string): string {
  const h = c.header;
  const match = h?.value !== undefined ? `=${checked(h.value, VALUE, 'header value')}` : h?.pattern !== undefined ? `~${checked(h.pattern, PATTERN, 'header pattern')}` : '';
  if (c.weightTotal < 100) throw new Error(`render: refusing canary weight total ${c.weightTotal}`);
  return [
    checked(sectionOf(c.backend), SECTION, 'section'),
    count(c.weight, 'weight'),
    count(c.weightTotal, 'weight total'),
    h ? checked(h.name, HEADER, 'header') : '',
    c.cookie !== undefined ? checked(c.cookie, COOKIE, 'cookie') : '',
    match,
  ].join(';');
}

export const CANARY_FAMILY = policyFamily({
  maps: CANARY_MAPS,
  lua: { file: CANARY_LUA, text: LUA },
  data: (p, sectionOf) => (p.canary ? [['canary', canaryValue(p.canary, sectionOf)]] : []),
  rules: {
    upstream: (c) => [
      '# Canary Ingresses: the canary\'s section replaces the route\'s when its header, cookie or weight says so.',
      `http-request set-var(txn.canary) ${c.routeId},map_str(${c.file('canary')}) if ${c.hasId}`,
      'http-request lua.portico_canary if { var(txn.canary) -m found }',
    ],
  },
});
