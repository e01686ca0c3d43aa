// Render side of cookie affinity (src/translate/annotations/affinity.ts). A route with affinity sends to a sticky
// section (render.ts `sectionText`: `balance hash var(txn.affinity_key)` with a consistent hash), identical for every
// sticky backend, so a sticky spare can take any of them at runtime and servers come and go with `add server`.
// The route's line in `affinity.map` holds the cookie's name and attributes: a Lua action reads the cookie by that
// name (no user string is configuration text), hands its key to the section's hash, or makes a new key and the
// Set-Cookie header that the response rule adds. A request that reaches a sticky section without a key (a canary's
// in legacy mode) is balanced round robin.
// Persistent mode: the cookie's key names a pod, as ingress-nginx's does (`md5(<upstream> .. <address>:<port>)`), and
// `affinity-servers.map`, made from the sticky backends' servers and updated with them at runtime, resolves
// `<section>/<key>` to a server name that the section's `use-server` rule picks (HAProxy 2.6 takes a server name
// from a sample, looked up among that section's servers only), and `<section>/<server>` back to the key, for the
// cookie of the pod that answered. A key the map lacks (a pod gone, a forged value) picks nothing: the request is
// balanced and the client gets the cookie of the pod that answered.
import { createHash } from 'node:crypto';
import type { AffinityPolicy, Backend, ServiceRef } from '../../../model/types.js';
import { policyFamily } from './family.js';

export const AFFINITY_MAPS = { affinity: 'maps/affinity.map', affinityServers: 'maps/affinity-servers.map' } as const;
export const AFFINITY_LUA = 'lua/affinity.lua';

// The line: `<flags>;<cookie>;<section>;<backend key>;<path>;<domain>;<max-age>;<expires>;<samesite>;<canary
// section>;<canary key>`, flags `s` (Secure over HTTP too), `c` (conditional SameSite=None), `f` (change on failure),
// `p` (persistent) or `-`. No field's grammar holds `;`. The cookie is read as ingress-nginx's cookie library reads it:
// the name exactly, the value up to `;`, space or tab, the last occurrence winning; the key is what precedes the first
// `|`. Expires is nginx's cookie_time (a two-digit year up to 2037).
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

-- Everything after the cookie's value: '; Expires=...; ...; HttpOnly; SameSite=...'.
local function attributes(txn, f, https)
  local now = core.now().sec
  local parts = { '' }
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
    -- (a replaced worker counts no usable server while it stops: HAProxy 2.6.12; the canary is taken as it was)
    if bkey == canary_key and (txn.f:stopping() or txn.f:nbsrv(canary) > 0) then target = canary elseif bkey == main_key then target = main end
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
  if string.find(flags, 'p', 1, true) then
    -- Persistent: the key names a pod, which the map resolves within this section only (then the section's
    -- use-server rule picks it); no affinity_key, so a request it does not pin is balanced round robin. The cookie
    -- waits for the response, which tells the pod that answered.
    if key ~= nil and #key == 32 and string.match(key, '^%x+$') then
      txn:set_var('txn.affinity_pin', key)
      txn:set_var('txn.affinity_ep', section .. '/' .. key)
    end
    txn:set_var('txn.affinity_persist', string.find(flags, 'f', 1, true) and 'f' or '-')
    txn:set_var('txn.affinity_head', name .. '=')
    txn:set_var('txn.affinity_tail', '|' .. own_key .. attributes(txn, f, https))
    return
  end
  if key == nil or key == '' then
    key = new_key()
    txn:set_var('txn.affinity_cookie', name .. '=' .. key .. '|' .. own_key .. attributes(txn, f, https))
  end
  txn:set_var('txn.affinity_key', key)
end)

-- Persistent mode, on the response: txn.affinity_served is the key of the pod that answered. A client whose cookie named it
-- keeps its cookie; one whose cookie named a pod of the section that did not answer (a connection failure sent the
-- request on) gets the answering pod's only with change-on-failure; any other (no cookie, a pod gone, a forged key)
-- gets it always, as ingress-nginx's sticky balancer sets the cookie whenever it picks a new pod.
core.register_action('portico_affinity_served', { 'http-res' }, function(txn)
  local served = txn:get_var('txn.affinity_served')
  local head = txn:get_var('txn.affinity_head')
  local tail = txn:get_var('txn.affinity_tail')
  if served == nil or head == nil or tail == nil or served == txn:get_var('txn.affinity_pin') then return end
  if txn:get_var('txn.affinity_server') ~= nil and txn:get_var('txn.affinity_persist') ~= 'f' then return end
  txn:set_var('txn.affinity_cookie', head .. served .. tail)
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
  const flags = `${a.secure ? 's' : ''}${a.conditionalSameSiteNone ? 'c' : ''}${a.changeOnFailure ? 'f' : ''}${a.mode === 'persistent' ? 'p' : ''}` || '-';
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

/** ingress-nginx's upstream name of a Service port, `<namespace>-<service>-<port>`, which salts its pod keys. */
function upstreamName(ref: ServiceRef): string {
  return checked(`${ref.namespace}-${ref.service}-${ref.port}`, /^[a-z0-9][-a-z0-9.]{0,400}$/, 'upstream name');
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** A pod's key in a persistent cookie: ingress-nginx's `md5(<upstream> .. <address>:<port>)` (its nodemap, salted
 * with the upstream's name), so a cookie ingress-nginx wrote keeps its pod here too. */
export function endpointKey(ref: ServiceRef, address: string, port: number): string {
  return md5(`${upstreamName(ref)}${address}:${port}`);
}

/** A sticky backend's lines in affinity-servers.map: each pod's key to its server, and each of its servers (a lone
 * pod's twin too) back to the key. Keys start with the section's name: the frontend looks a cookie up in the section
 * the route sends to, so a key never leads to another Service's pod. */
export function affinityServerLines(b: Backend, section: string): [string, string][] {
  if (b.policy?.affinity !== true) return [];
  checked(section, SECTION, 'section');
  const out: [string, string][] = [];
  const twin = b.servers.length === 1;
  for (const s of b.servers) {
    const key = endpointKey(b.ref, s.address, s.port);
    checked(s.name, SECTION, 'server name');
    out.push([`${section}/${key}`, s.name], [`${section}/${s.name}`, key]);
    // render.ts dialledServers: a lone endpoint is dialled under a second name as well.
    if (twin) out.push([`${section}/${s.name}_twin`, key]);
  }
  return out;
}

export const AFFINITY_FAMILY = policyFamily({
  maps: AFFINITY_MAPS,
  implies: { affinity: ['affinityServers'], affinityServers: ['affinity'] },
  lua: { file: AFFINITY_LUA, text: LUA },
  data: (p, sectionOf) => (p.affinity ? [['affinity', affinityValue(p.affinity, sectionOf)]] : []),
  backendData: { map: 'affinityServers', with: 'affinity', data: affinityServerLines },
  rules: {
    upstream: (c) => [
      '# Cookie affinity: the cookie\'s key for the sticky section\'s hash, or a new key and its Set-Cookie; in',
      '# persistent mode, the server the key names in the route\'s section.',
      `http-request set-var(txn.affinity) ${c.routeId},map_str(${c.file('affinity')}) if ${c.hasId}`,
      'http-request lua.portico_affinity if { var(txn.affinity) -m found }',
      `http-request set-var(txn.affinity_server) var(txn.affinity_ep),map_str(${c.file('affinityServers')}) if { var(txn.affinity_ep) -m found }`,
    ],
    // Persistent mode: the key of the pod that answered, from the section and server that served the response.
    // HAProxy 2.6 has no sample fetch that tells a redispatched request (txn.redispatched came later): a failure is
    // the answering pod differing from the pod the cookie named. Balanced mode cannot compare them (the hash's
    // choice is not a sample), so change-on-failure is persistent-only (docs/annotations.md).
    response: (c) => [
      'http-response set-var(txn.affinity_srv) srv_name if { var(txn.affinity_head) -m found }',
      `http-response set-var(txn.affinity_served) be_name,concat(/,txn.affinity_srv),map_str(${c.file('affinityServers')}) if { var(txn.affinity_srv) -m found }`,
      'http-response lua.portico_affinity_served if { var(txn.affinity_served) -m found }',
      'http-after-response add-header Set-Cookie %[var(txn.affinity_cookie)] if { var(txn.affinity_cookie) -m found }',
    ],
  },
});
