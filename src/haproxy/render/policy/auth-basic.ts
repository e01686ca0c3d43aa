// Render side of basic authentication (auth-type: basic, auth-secret, auth-secret-type, auth-realm;
// src/translate/annotations/auth-basic.ts). Credentials are map data, never configuration text: `auth-users.map`
// holds `<route id>|<user name as uppercase hex>` -> the htpasswd hash, `auth-challenges.map` the route's
// WWW-Authenticate value (percent-encoded: a map value is one word). A user added, removed or given a new password
// is a map update. HAProxy's `http_auth(<userlist>)` would check crypt(3) hashes natively, but a userlist is
// configuration text (a reload per password change) and Debian's libcrypt has no apr1, htpasswd's default: the hash
// is checked by a Lua action instead (lua/auth-basic.lua), with HAProxy's own MD5 and SHA-1 converters where it can.
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';
import type { BasicAuth } from '../../../model/types.js';

export const AUTH_BASIC_MAPS = {
  // Users before the challenge: plan adds lines in this order and removes them in the opposite one, so a route that
  // gains authentication has its users before it asks for them.
  authUsers: 'maps/auth-users.map',
  authChallenges: 'maps/auth-challenges.map',
} as const;
type AuthMap = keyof typeof AUTH_BASIC_MAPS;
export const AUTH_BASIC_LUA = 'lua/auth-basic.lua';

/** ingress-nginx's realm grammar (its CharsWithSpace): nothing that could end the quoted string or the header. */
const REALM = /^[-._~a-zA-Z0-9/: ]{0,256}$/;
/** The hashes the Lua action checks (translate's grammar is the same). */
export const HASH = /^(\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}|\$1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}|\{SHA\}[A-Za-z0-9+/]{27}=|\$2[aby]\$(0[4-9]|1[0-2])\$[./A-Za-z0-9]{53})$/;
/** User names as translate admits them: no control character, no `:` (RFC 7617), at most 255 bytes. */
// eslint-disable-next-line no-control-regex -- the control characters are what the class refuses
const USER = /^[^\x00-\x1f\x7f:]{1,255}$/u;

/** `WWW-Authenticate: Basic realm="<realm>"`, as nginx's auth_basic writes it, percent-encoded for the map. */
export function challengeValue(realm: string): string {
  if (!REALM.test(realm)) throw new Error(`render: refusing auth realm ${JSON.stringify(realm)}`);
  return `Basic%20realm=%22${realm.replace(/ /g, '%20')}%22`;
}

/** A user's key suffix: hex of its UTF-8 bytes, as HAProxy's `http_auth_user,hex` gives it (uppercase). */
export function userKey(user: string): string {
  if (!USER.test(user) || Buffer.byteLength(user) > 255) throw new Error(`render: refusing auth user ${JSON.stringify(user)}`);
  return `|${Buffer.from(user, 'utf8').toString('hex').toUpperCase()}`;
}

export function hashValue(hash: string): string {
  if (!HASH.test(hash)) throw new Error('render: refusing an auth hash of an unknown form');
  return hash;
}

export function authData(a: BasicAuth | undefined): PolicyDatum<AuthMap>[] {
  if (!a) return [];
  return [...a.users.map(([user, hash]): PolicyDatum<AuthMap> => ['authUsers', hashValue(hash), userKey(user)]), ['authChallenges', challengeValue(a.realm)]];
}

/**
 * Blowfish's initial P-array and S-boxes: the hexadecimal digits of pi's fraction (18 + 1024 words of 32 bits),
 * computed here (Machin's formula in fixed point) rather than typed out, so there are no 8,336 digits to get wrong.
 */
function piWords(count: number): number[] {
  const bits = BigInt(count * 32 + 64);
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += ((k - 1n) / 2n) % 2n === 0n ? term / k : -(term / k);
      term /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const fraction = (pi % one) >> 64n;
  const words: number[] = [];
  for (let i = count - 1; i >= 0; i--) words.push(Number((fraction >> BigInt(i * 32)) & 0xffffffffn));
  return words;
}

let luaText: string | undefined;

/** The script, built once: the Blowfish constants are part of it. */
export function authLua(): string {
  if (luaText !== undefined) return luaText;
  const words = piWords(18 + 1024);
  if (words[0] !== 0x243f6a88 || words[17] !== 0x8979fb1b || words[18] !== 0xd1310ba6 || words[1041] !== 0x3ac372e6) throw new Error('render: Blowfish constants came out wrong');
  luaText = LUA.replace('--PI--', words.map((w) => `0x${w.toString(16).padStart(8, '0')}`).join(','));
  return luaText;
}

// Why each part is as it is:
// - Verifications are pure functions of (stored hash, password), so successes are cached under a SHA-256 of both:
//   a changed password (another hash) misses, a removed user has no hash to look up, and no password is kept in
//   memory. At most 10,000 entries for 60 s; past the bound the cache is dropped whole. Failures are never cached,
//   so guessing fills nothing.
// - Results are compared in full, whatever the first differing byte (no early exit).
// - apr1 ($apr1$, htpasswd's default) and $1$ are md5crypt: 1,002 MD5s through HAProxy's `digest` converter.
// - {SHA} is one SHA-1 through the `sha1` and `base64` converters.
// - bcrypt ($2y$, $2b$, $2a$) is Blowfish in Lua; translate admits cost 9 at most, render and the script 12 (cost
//   12 takes seconds of Lua), and Lua yields while it runs, so other requests go on.
const LUA = `local digest_md5 = function(txn, s) return txn.c:digest(s, 'MD5') end
local cache, cached = {}, 0
local CACHE_MAX, TTL = 10000, 60

local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = diff | (string.byte(a, i) ~ string.byte(b, i)) end
  return diff == 0
end

local ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

local function to64(v, n)
  local out = {}
  for i = 1, n do
    local c = (v & 0x3f) + 1
    out[i] = string.sub(ITOA64, c, c)
    v = v >> 6
  end
  return table.concat(out)
end

local function md5crypt(txn, pw, magic, salt)
  local alt = digest_md5(txn, pw .. salt .. pw)
  local ctx = { pw, magic, salt }
  local n = #pw
  while n > 0 do
    ctx[#ctx + 1] = string.sub(alt, 1, n > 16 and 16 or n)
    n = n - 16
  end
  n = #pw
  while n > 0 do
    ctx[#ctx + 1] = (n & 1 == 1) and '\\0' or string.sub(pw, 1, 1)
    n = n >> 1
  end
  local f = digest_md5(txn, table.concat(ctx))
  for i = 0, 999 do
    local c = {}
    c[1] = (i & 1 == 1) and pw or f
    if i % 3 ~= 0 then c[#c + 1] = salt end
    if i % 7 ~= 0 then c[#c + 1] = pw end
    c[#c + 1] = (i & 1 == 1) and f or pw
    f = digest_md5(txn, table.concat(c))
  end
  local b = { string.byte(f, 1, 16) }
  return magic .. salt .. '$' ..
    to64((b[1] << 16) | (b[7] << 8) | b[13], 4) .. to64((b[2] << 16) | (b[8] << 8) | b[14], 4) ..
    to64((b[3] << 16) | (b[9] << 8) | b[15], 4) .. to64((b[4] << 16) | (b[10] << 8) | b[16], 4) ..
    to64((b[5] << 16) | (b[11] << 8) | b[6], 4) .. to64(b[12], 2)
end

local PI = { --PI-- }
local BF64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
local BF64_INDEX = {}
for i = 1, 64 do BF64_INDEX[string.byte(BF64, i)] = i - 1 end

local function bf_decode(s, nbytes)
  local out, bits, acc = {}, 0, 0
  for i = 1, #s do
    acc = (acc << 6) | BF64_INDEX[string.byte(s, i)]
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      out[#out + 1] = (acc >> bits) & 0xff
      if #out == nbytes then break end
    end
  end
  return out
end

local function bf_encode(bytes)
  local out, bits, acc = {}, 0, 0
  for i = 1, #bytes do
    acc = ((acc << 8) | bytes[i]) & 0xffffff
    bits = bits + 8
    while bits >= 6 do
      bits = bits - 6
      local c = ((acc >> bits) & 0x3f) + 1
      out[#out + 1] = string.sub(BF64, c, c)
    end
  end
  if bits > 0 then
    local c = ((acc << (6 - bits)) & 0x3f) + 1
    out[#out + 1] = string.sub(BF64, c, c)
  end
  return table.concat(out)
end

local function bcrypt(pw, cost, salt64)
  local P, S0, S1, S2, S3 = {}, {}, {}, {}, {}
  for i = 0, 17 do P[i] = PI[i + 1] end
  for i = 0, 255 do
    S0[i] = PI[19 + i]; S1[i] = PI[275 + i]; S2[i] = PI[531 + i]; S3[i] = PI[787 + i]
  end
  local function encipher(l, r)
    l = l ~ P[0]
    for i = 1, 16, 2 do
      r = r ~ ((((S0[l >> 24] + S1[(l >> 16) & 0xff]) ~ S2[(l >> 8) & 0xff]) + S3[l & 0xff]) & 0xffffffff) ~ P[i]
      l = l ~ ((((S0[r >> 24] + S1[(r >> 16) & 0xff]) ~ S2[(r >> 8) & 0xff]) + S3[r & 0xff]) & 0xffffffff) ~ P[i + 1]
    end
    return r ~ P[17], l
  end
  local key = { string.byte(pw, 1, -1) }
  key[#key + 1] = 0
  while #key > 72 do key[#key] = nil end
  local salt = bf_decode(salt64, 16)
  local function words(bytes)
    local w, n, pos = {}, #bytes, 1
    for i = 1, 18 do
      local v = 0
      for _ = 1, 4 do
        v = (v << 8) | bytes[pos]
        pos = pos % n + 1
      end
      w[i] = v
    end
    return w
  end
  local keyw, saltw = words(key), words(salt)
  local boxes = { S0, S1, S2, S3 }
  -- Blowfish_expandstate when salted (the salt's four words, in turn, enter each encryption), expand0state else.
  local function expand(kw, salted)
    for i = 0, 17 do P[i] = P[i] ~ kw[i + 1] end
    local l, r, j = 0, 0, 1
    for i = 0, 17, 2 do
      if salted then l = l ~ saltw[j]; r = r ~ saltw[j + 1]; j = (j + 1) % 4 + 1 end
      l, r = encipher(l, r)
      P[i], P[i + 1] = l, r
    end
    for b = 1, 4 do
      local box = boxes[b]
      for i = 0, 255, 2 do
        if salted then l = l ~ saltw[j]; r = r ~ saltw[j + 1]; j = (j + 1) % 4 + 1 end
        l, r = encipher(l, r)
        box[i], box[i + 1] = l, r
      end
    end
  end
  expand(keyw, true)
  for _ = 1, 1 << cost do
    expand(keyw, false)
    expand(saltw, false)
  end
  local c = { 0x4f727068, 0x65616e42, 0x65686f6c, 0x64657253, 0x63727944, 0x6f756274 }
  for _ = 1, 64 do
    c[1], c[2] = encipher(c[1], c[2])
    c[3], c[4] = encipher(c[3], c[4])
    c[5], c[6] = encipher(c[5], c[6])
  end
  local out = {}
  for i = 1, 6 do
    out[#out + 1] = (c[i] >> 24) & 0xff; out[#out + 1] = (c[i] >> 16) & 0xff
    out[#out + 1] = (c[i] >> 8) & 0xff; out[#out + 1] = c[i] & 0xff
  end
  out[24] = nil
  return bf_encode(out)
end

local BCRYPT = '^%$2[aby]%$(%d%d)%$(' .. string.rep('[./A-Za-z0-9]', 22) .. ')([./A-Za-z0-9]+)$'

local function verify(txn, hash, pw)
  local magic, salt = string.match(hash, '^(%$apr1%$)([^$]+)%$')
  if magic == nil then magic, salt = string.match(hash, '^(%$1%$)([^$]+)%$') end
  if magic ~= nil then return same(md5crypt(txn, pw, magic, salt), hash) end
  local sha = string.match(hash, '^{SHA}(.+)$')
  if sha ~= nil then return same(txn.c:base64(txn.c:sha1(pw)), sha) end
  local cost, salt64, sum = string.match(hash, BCRYPT)
  if cost ~= nil and tonumber(cost) <= 12 then return same(bcrypt(pw, tonumber(cost), salt64), sum) end
  return false
end

core.register_action('portico_basic_auth', { 'http-req' }, function(txn)
  local hash = txn:get_var('txn.basic_auth_hash')
  local pw = txn.f:http_auth_pass()
  if hash == nil or pw == nil then return end
  local key = txn.c:digest(hash .. '\\0' .. pw, 'SHA256')
  local now = core.now().sec
  local expires = cache[key]
  if expires ~= nil and expires > now then
    txn:set_var('txn.basic_auth_ok', true)
    return
  end
  if not verify(txn, hash, pw) then return end
  if expires == nil then
    if cached >= CACHE_MAX then cache, cached = {}, 0 end
    cached = cached + 1
  end
  cache[key] = now + TTL
  txn:set_var('txn.basic_auth_ok', true)
end)
`;

export const AUTH_BASIC_FAMILY = policyFamily({
  maps: AUTH_BASIC_MAPS,
  get lua() {
    return { file: AUTH_BASIC_LUA, text: authLua() };
  },
  data: (p) => authData(p.basicAuth),
  rules: {
    // nginx checks the password in its access phase, after the rewrite phase has answered whatever it answers (the
    // CORS preflight, the redirect annotations, a snippet's return, the HTTPS redirect): so first in the upstream
    // phase, after all of those and rule T9 (credentials are then asked for over TLS on a TLS host), and after the
    // access lists. A route without authentication meets one rule, skipped at a variable it never sets.
    upstream: (c) => {
      // satisfy: any (policy/satisfy.ts): a request the access lists allowed is not asked for a password; the
      // Authorization header still goes (ingress-nginx clears it on every request of the location).
      const skip = c.satisfyAny === undefined ? '' : ' !{ var(txn.satisfy) -m str any }';
      return c.inUse.has('authChallenges')
        ? [
            '# Basic authentication (auth-type: basic): the user\'s hash from the route id and the user name, checked by Lua;',
            '# 401 with the route\'s challenge when it is missing or wrong. The backend never receives the credentials (nginx',
            '# sends it an empty Authorization).',
            `http-request set-var(txn.basic_auth) ${c.routeId},map_str(${c.file('authChallenges')}) if ${c.hasId}`,
            `http-request set-var(txn.basic_auth_user) http_auth_user,hex if { var(txn.basic_auth) -m found }${skip}`,
            // No user at all (every line of every Secret refused): no lookup, so every request gets the 401.
            ...(c.inUse.has('authUsers')
              ? [
                  `http-request set-var(txn.basic_auth_hash) ${c.routeId},concat(|,txn.basic_auth_user),map_str(${c.file('authUsers')}) if { var(txn.basic_auth_user) -m found }`,
                  'http-request lua.portico_basic_auth if { var(txn.basic_auth_hash) -m found }',
                ]
              : []),
            `http-request return status 401 content-type "text/plain; charset=utf-8" hdr WWW-Authenticate "%[var(txn.basic_auth),url_dec]" string "401 Unauthorized: this route needs a user name and password\\n" if { var(txn.basic_auth) -m found } !{ var(txn.basic_auth_ok) -m bool }${skip}`,
            'http-request del-header Authorization if { var(txn.basic_auth) -m found }',
          ]
        : [];
    },
  },
});
