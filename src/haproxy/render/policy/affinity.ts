// Render side of cookie affinity (src/translate/annotations/affinity.ts). A route with affinity sends to a sticky
// section (render.ts `sectionText`: `balance hash var(txn.affinity_key)` with a consistent hash), identical for every
// sticky backend, so a sticky spare can take any of them at runtime and servers come and go with `add server`.
// The route's line in `affinity.map` holds the cookie's name and attributes: a Lua action reads the cookie by that
// name (no user string is configuration text), hands its key to the section's hash, or makes a new key and the
// Set-Cookie header that the response rule adds. A request that reaches a sticky section without a key (a canary's
// in legacy mode) is balanced round robin.
import type { AffinityPolicy } from '../../../model/types.js';
import { policyFamily } from './family.js';

export const AFFINITY_MAPS = { affinity: 'maps/affinity.map' } as const;
export const AFFINITY_LUA = 'lua/affinity.lua';

// The line: `<flags>;<cookie>;<section>;<backend key>;<path>;<domain>;<max-age>;<expires>;<samesite>;<canary
// section>;<canary key>`, flags `s` (Secure over HTTP too), `c` (conditional SameSite=None), `f` (change on failure)
// or `-`. No field's grammar holds `;`. The cookie is read as ingress-nginx's cookie library reads it: the name
// exactly, the value up to `;`, space or tab, the last occurrence winning; the key is what precedes the first `|`.
// Expires is nginx's cookie_time (a two-digit year up to 2037).
const LUA = `local ua_refusing_none = { 'Chrome/4', 'Chrome/5', 'Chrome/6', 'CPU iPhone OS 12', 'iPad; CPU OS 12' }

local function none_compatible(ua)
  if ua == nil then return true end
  for _, s in ipairs(ua_refusing_none) do
    if string.find(ua, s, 1, true) then return false end
  end
  if string.find(ua, 'Macintosh', 1, true) and string.find(ua, 'Intel Mac OS X 10_14', 1, true)
    and string.find(ua, 'Safari', 1, true) and not string.find(ua, 'Chrome', 1, true) then return false end
  return true
end

local function cookie_value(headers, name)
  local lines = headers['cookie']
  if lines == nil then return nil end
  local found = nil
  for i = 0, #lines do
    local line = lines[i]
    if line ~= nil then
      for k, v in string.gmatch(';' .. line, ';[ \\t]*([^=;]+)=([^; \\t]*)') do
        if k == name then found = v end
      end
    end
  end
  return found
end

local function cookie_time(t)
  local year = tonumber(os.date('!%Y', t))
  return os.date(year > 2037 and '!%a, %d-%b-%Y %H:%M:%S GMT' or '!%a, %d-%b-%y %H:%M:%S GMT', t)
end

local function new_key()
  local now = core.now()
  return string.format('%d.%03d.%d.%d', now.sec + 1, now.usec // 1000, math.random(99999), math.random(999999))
end

local function set_cookie(txn, f, key, bkey, https)
  local now = core.now().sec
  local parts = { f.name .. '=' .. key .. '|' .. bkey }
  if f.expires ~= '' then parts[#parts + 1] = 'Expires=' .. cookie_time(now + tonumber(f.expires)) end
  if f.maxage ~= '' then parts[#parts + 1] = 'Max-Age=' .. f.maxage end
  if f.domain ~= '' then parts[#parts + 1] = 'Domain=' .. f.domain end
  parts[#parts + 1] = 'Path=' .. f.path
  if https or string.find(f.flags, 's', 1, true) then parts[#parts + 1] = 'Secure' end
  parts[#parts + 1] = 'HttpOnly'
  local samesite = f.samesite
  if samesite == 'None' and string.find(f.flags, 'c', 1, true) then
    local ua = txn.http:req_get_headers()['user-agent']
    if not none_compatible(ua and ua[0]) then samesite = '' end
  end
  if samesite ~= '' then parts[#parts + 1] = 'SameSite=' .. samesite end
  return table.concat(parts, '; ')
end

core.register_action('portico_affinity', { 'http-req' }, function(txn)
  local line = txn:get_var('txn.affinity')
  local route = txn:get_var('txn.route')
  if line == nil or route == nil then return end
  local flags, name, main, main_key, path, domain, maxage, expires, samesite, canary, canary_key =
    string.match(line, '^([^;]+);([^;]+);([^;]+);([^;]+);([^;]+);([^;]*);([^;]*);([^;]*);([^;]*);([^;]*);([^;]*)$')
  if flags == nil then return end
  local rflags, section, rest = string.match(route, '^([^|]*)|([^|]*)(.*)$')
  if section == nil then return end
  local raw = cookie_value(txn.http:req_get_headers(), name)
  local key, bkey
  if raw ~= nil then key, bkey = string.match(raw, '^([^|]*)|?([^|]*)') end
  if canary ~= '' then
    -- A cookie names the Service port that served the client: it keeps the client there, whatever the canary
    -- decided (ingress-nginx's is_affinitized); a canary without a usable server keeps no one.
    local target = section
    if bkey == canary_key and txn.f:nbsrv(canary) > 0 then target = canary elseif bkey == main_key then target = main end
    if target ~= section then
      section = target
      txn:set_var('txn.route', rflags .. '|' .. section .. rest)
    end
  end
  local own_key
  if section == main then own_key = main_key elseif section == canary and canary ~= '' then own_key = canary_key else return end
  local f = { flags = flags, name = name, path = path, domain = domain, maxage = maxage, expires = expires, samesite = samesite }
  -- A boolean fetch reaches Lua as a boolean or as 0/1, depending on how HAProxy casts it.
  local fc = txn.f:ssl_fc()
  local https = fc == true or fc == 1
  if key == nil or key == '' then
    key = new_key()
    txn:set_var('txn.affinity_cookie', set_cookie(txn, f, key, own_key, https))
  end
  txn:set_var('txn.affinity_key', key)
end)
`;

const SECTION = /^[A-Za-z0-9_.:-]{1,300}$/;
const NAME = /^[-._~A-Za-z0-9/:]{1,256}$/;
const PATH = /^[-._~A-Za-z0-9/:,?&=%^$[\](){}*+|\\]{1,2048}$/;
const KEY = /^[0-9a-f]{32}$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing affinity ${what} ${JSON.stringify(value)}`);
  return value;
}

function seconds(n: number | undefined, what: string): string {
  if (n === undefined) return '';
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 31 - 1) throw new Error(`render: refusing affinity ${what} ${n}`);
  return String(n);
}

/** A route's line in affinity.map, with its sections as `sectionOf` names them. */
export function affinityValue(a: AffinityPolicy, sectionOf: (backend: string) => string): string {
  if (a.sameSite !== undefined && !['None', 'Lax', 'Strict'].includes(a.sameSite)) throw new Error(`render: refusing affinity samesite ${JSON.stringify(a.sameSite)}`);
  const flags = `${a.secure ? 's' : ''}${a.conditionalSameSiteNone ? 'c' : ''}${a.changeOnFailure ? 'f' : ''}` || '-';
  return [
    flags,
    checked(a.cookie, NAME, 'cookie name'),
    checked(sectionOf(a.backend), SECTION, 'section'),
    checked(a.backendKey, KEY, 'backend key'),
    checked(a.path, PATH, 'path'),
    a.domain === undefined ? '' : checked(a.domain, NAME, 'domain'),
    seconds(a.maxAge, 'max-age'),
    seconds(a.expires, 'expires'),
    a.sameSite ?? '',
    a.canary ? checked(sectionOf(a.canary.backend), SECTION, 'canary section') : '',
    a.canary ? checked(a.canary.backendKey, KEY, 'canary backend key') : '',
  ].join(';');
}

export const AFFINITY_FAMILY = policyFamily({
  maps: AFFINITY_MAPS,
  lua: { file: AFFINITY_LUA, text: LUA },
  data: (p, sectionOf) => (p.affinity ? [['affinity', affinityValue(p.affinity, sectionOf)]] : []),
  rules: {
    upstream: (c) => [
      '# Cookie affinity: the cookie\'s key for the sticky section\'s hash, or a new key and its Set-Cookie.',
      `http-request set-var(txn.affinity) ${c.routeId},map_str(${c.file('affinity')}) if ${c.hasId}`,
      'http-request lua.portico_affinity if { var(txn.affinity) -m found }',
    ],
    // HAProxy 2.6 has no sample fetch that tells a redispatched request (txn.redispatched and txn.conn_retries came
    // later), so change-on-failure cannot re-cookie here (docs/annotations.md).
    response: () => ['http-after-response add-header Set-Cookie %[var(txn.affinity_cookie)] if { var(txn.affinity_cookie) -m found }'],
  },
});
