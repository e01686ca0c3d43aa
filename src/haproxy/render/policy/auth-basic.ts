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
  // auth-type: digest: `<route id>|<user as uppercase hex>` -> HA1, and the route's `Digest realm="..."`. A map of
  // its own, so that the digest rules exist only while some route uses digest authentication.
  authDigestUsers: 'maps/auth-digest-users.map',
  authChallenges: 'maps/auth-challenges.map',
  authDigestChallenges: 'maps/auth-digest-challenges.map',
} as const;
type AuthMap = keyof typeof AUTH_BASIC_MAPS;
export const AUTH_BASIC_LUA = 'lua/auth-basic.lua';

/** ingress-nginx's realm grammar (its CharsWithSpace): nothing that could end the quoted string or the header. */
const REALM = /^[-._~a-zA-Z0-9/: ]{0,256}$/;
/** The hashes the Lua action checks (translate's grammar is the same, with tighter cost limits). */
export const HASH = new RegExp(
  [
    '\\$(apr1|1)\\$[./0-9A-Za-z]{1,8}\\$[./0-9A-Za-z]{22}',
    '\\{SHA\\}[A-Za-z0-9+/]{27}=',
    '\\{SSHA\\}([A-Za-z0-9+/]{4}){6,128}([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?',
    '\\{PLAIN-SHA256\\}[0-9A-F]{64}',
    '\\$2[aby]\\$(0[4-9]|1[0-2])\\$[./A-Za-z0-9]{53}',
    '\\$5\\$(rounds=[1-9][0-9]{3,5}\\$)?[./0-9A-Za-z]{0,16}\\$[./0-9A-Za-z]{43}',
    '\\$6\\$(rounds=[1-9][0-9]{3,5}\\$)?[./0-9A-Za-z]{0,16}\\$[./0-9A-Za-z]{86}',
    '[./0-9A-Za-z]{13}',
  ]
    .map((h) => `(${h})`)
    .join('|')
    .replace(/^/, '^(')
    .replace(/$/, ')$'),
);
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

/** The digest route's challenge before its nonce (the Lua adds algorithm, qop, nonce and stale), percent-encoded. */
export function digestChallengeValue(realm: string): string {
  if (!REALM.test(realm)) throw new Error(`render: refusing auth realm ${JSON.stringify(realm)}`);
  return `Digest%20realm=%22${realm.replace(/ /g, '%20')}%22`;
}

export function ha1Value(ha1: string): string {
  if (!/^[0-9a-f]{32}$/.test(ha1)) throw new Error('render: refusing a digest HA1 that is not 32 lowercase hexadecimal digits');
  return ha1;
}

export function authData(a: BasicAuth | undefined): PolicyDatum<AuthMap>[] {
  if (!a) return [];
  if (a.scheme === 'digest') return [...a.users.map(([user, ha1]): PolicyDatum<AuthMap> => ['authDigestUsers', ha1Value(ha1), userKey(user)]), ['authDigestChallenges', digestChallengeValue(a.realm)]];
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
// - SHA-256/512-crypt ($5$, $6$, htpasswd -2/-5) is Drepper's algorithm over the `sha2` converter, about 1.5 µs a
//   round; translate admits 200,000 rounds at most, render and the script 999,999.
// - DES crypt (htpasswd -d) is 25 DES encryptions of zero in Lua, one bit per table slot: about 5 ms.
// - {SSHA} and {PLAIN} are nginx's own schemes (ngx_crypt.c); translate turns {PLAIN} into the password's SHA-256.
// - Passwords of 512 bytes or more never match what nginx hands to crypt(): libxcrypt refuses them, and the bound
//   keeps SHA-crypt's password repeated to its own length (and every scheme's work) small.
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

-- SHA-256/512-crypt: the bytes of the final digest in the order crypt() encodes them, three at a time.
local SHA256_ORDER = { 0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29 }
local SHA512_ORDER = { 0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51, 31, 52, 10,
  53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41 }

local function repeat_to(block, n)
  local out = string.rep(block, n // #block)
  return out .. string.sub(block, 1, n % #block)
end

local function shacrypt(txn, pw, bits, rounds, salt)
  local H = function(s) return txn.c:sha2(s, bits) end
  local size = bits // 8
  local b = H(pw .. salt .. pw)
  local a = { pw, salt, repeat_to(b, #pw) }
  local n = #pw
  while n > 0 do
    a[#a + 1] = (n & 1 == 1) and b or pw
    n = n >> 1
  end
  local c = H(table.concat(a))
  local p = repeat_to(H(string.rep(pw, #pw)), #pw)
  local s = repeat_to(H(string.rep(salt, 16 + string.byte(c, 1))), #salt)
  for i = 0, rounds - 1 do
    local ctx = {}
    ctx[1] = (i & 1 == 1) and p or c
    if i % 3 ~= 0 then ctx[#ctx + 1] = s end
    if i % 7 ~= 0 then ctx[#ctx + 1] = p end
    ctx[#ctx + 1] = (i & 1 == 1) and c or p
    c = H(table.concat(ctx))
  end
  local order = bits == 256 and SHA256_ORDER or SHA512_ORDER
  local out = {}
  for i = 1, #order - 2, 3 do
    out[#out + 1] = to64((string.byte(c, order[i] + 1) << 16) | (string.byte(c, order[i + 1] + 1) << 8) | string.byte(c, order[i + 2] + 1), 4)
  end
  if bits == 256 then
    out[#out + 1] = to64((string.byte(c, 32) << 8) | string.byte(c, 31), 3)
  else
    out[#out + 1] = to64(string.byte(c, 64), 2)
  end
  return table.concat(out)
end

-- DES crypt (traditional crypt(3)): FIPS 46's tables; the salt swaps bits of the expansion.
local IP = { 58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7 }
local E = { 32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
  16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1 }
local P = { 16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25 }
local PC1 = { 57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4 }
local PC2 = { 14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32 }
local SHIFTS = { 1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1 }
local SBOX = {
  { 14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13 },
  { 15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9 },
  { 10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12 },
  { 7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14 },
  { 2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3 },
  { 12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13 },
  { 4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12 },
  { 13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11 },
}
local A64 = {}
for i = 1, 64 do A64[string.byte(ITOA64, i)] = i - 1 end

local function descrypt(pw, salt)
  local key = {}
  for i = 1, 8 do
    local ch = string.byte(pw, i) or 0
    for j = 1, 7 do key[(i - 1) * 8 + j] = (ch >> (7 - j)) & 1 end
    key[i * 8] = 0
  end
  local cd = {}
  for i = 1, 56 do cd[i] = key[PC1[i]] end
  local subkeys = {}
  for r = 1, 16 do
    for _ = 1, SHIFTS[r] do
      table.insert(cd, 28, table.remove(cd, 1))
      table.insert(cd, 56, table.remove(cd, 29))
    end
    local k = {}
    for i = 1, 48 do k[i] = cd[PC2[i]] end
    subkeys[r] = k
  end
  local saltbits = A64[string.byte(salt, 1)] | (A64[string.byte(salt, 2)] << 6)
  local e = {}
  for i = 1, 48 do e[i] = E[i] end
  for i = 0, 11 do
    if (saltbits >> i) & 1 == 1 then e[i + 1], e[i + 25] = e[i + 25], e[i + 1] end
  end
  local block = {}
  for i = 1, 64 do block[i] = 0 end
  for _ = 1, 25 do
    local lr = {}
    for i = 1, 64 do lr[i] = block[IP[i]] end
    local l, r = {}, {}
    for i = 1, 32 do l[i] = lr[i]; r[i] = lr[i + 32] end
    for round = 1, 16 do
      local k = subkeys[round]
      local f = {}
      for s = 0, 7 do
        local b = {}
        for j = 1, 6 do b[j] = r[e[s * 6 + j]] ~ k[s * 6 + j] end
        local v = SBOX[s + 1][((b[1] << 5) | (b[6] << 4) | (b[2] << 3) | (b[3] << 2) | (b[4] << 1) | b[5]) + 1]
        for j = 1, 4 do f[s * 4 + j] = (v >> (4 - j)) & 1 end
      end
      local nr = {}
      for i = 1, 32 do nr[i] = l[i] ~ f[P[i]] end
      l, r = r, nr
    end
    local pre = {}
    for i = 1, 32 do pre[i] = r[i]; pre[i + 32] = l[i] end
    for i = 1, 64 do block[IP[i]] = pre[i] end
  end
  local out = { string.sub(salt, 1, 2) }
  for c = 0, 10 do
    local v = 0
    for j = 1, 6 do v = (v << 1) | (block[c * 6 + j] or 0) end
    out[#out + 1] = string.sub(ITOA64, v + 1, v + 1)
  end
  return table.concat(out)
end

local BCRYPT = '^%$2[aby]%$(%d%d)%$(' .. string.rep('[./A-Za-z0-9]', 22) .. ')([./A-Za-z0-9]+)$'

local function verify(txn, hash, pw)
  local magic, salt = string.match(hash, '^(%$apr1%$)([^$]+)%$')
  if magic ~= nil then return same(md5crypt(txn, pw, magic, salt), hash) end
  local sha = string.match(hash, '^{SHA}(.+)$')
  if sha ~= nil then return same(txn.c:base64(txn.c:sha1(pw)), sha) end
  local ssha = string.match(hash, '^{SSHA}(.+)$')
  if ssha ~= nil then
    local raw = txn.c:b64dec(ssha)
    if raw == nil or #raw < 20 then return false end
    return same(txn.c:sha1(pw .. string.sub(raw, 21)), string.sub(raw, 1, 20))
  end
  local plain = string.match(hash, '^{PLAIN%-SHA256}(.+)$')
  if plain ~= nil then return same(txn.c:hex(txn.c:sha2(pw, 256)), plain) end
  -- What follows is what nginx hands to the C library's crypt(), and libxcrypt refuses passphrases of 512 bytes
  -- or more: no such password matches there either. That bound also keeps SHA-crypt's repeated password small.
  if #pw >= 512 then return false end
  magic, salt = string.match(hash, '^(%$1%$)([^$]+)%$')
  if magic ~= nil then return same(md5crypt(txn, pw, magic, salt), hash) end
  local cost, salt64, sum = string.match(hash, BCRYPT)
  if cost ~= nil and tonumber(cost) <= 12 then return same(bcrypt(pw, tonumber(cost), salt64), sum) end
  local kind, rest = string.match(hash, '^%$([56])%$(.+)$')
  if kind ~= nil then
    local rounds, shasalt, shasum = string.match(rest, '^rounds=(%d+)%$([^$]*)%$(.+)$')
    if rounds == nil then
      rounds = '5000'
      shasalt, shasum = string.match(rest, '^([^$]*)%$(.+)$')
    end
    rounds = tonumber(rounds)
    if shasum == nil or rounds < 1000 or rounds > 999999 then return false end
    return same(shacrypt(txn, pw, kind == '5' and 256 or 512, rounds, shasalt), shasum)
  end
  if string.match(hash, '^[./0-9A-Za-z]+$') ~= nil and #hash == 13 then return same(descrypt(pw, string.sub(hash, 1, 2)), hash) end
  return false
end

-- Digest authentication (auth-type: digest; RFC 7616 with MD5 and qop=auth, as nginx's auth_digest module).
-- Nonces are <issue time, 8 hex digits><32 random bits, 8 hex digits><HMAC-SHA256 of both under a random key of
-- this process, 32 hex digits>: nothing is stored until one is used, none can be forged, and a reload (a new key)
-- only makes clients retry (stale=true). A used nonce is remembered until it expires so that each request must carry a higher nc.
local DIGEST_KEY
do
  local f = io.open('/dev/urandom', 'rb')
  if f ~= nil then
    DIGEST_KEY = f:read(64)
    f:close()
  end
end
local NONCE_TTL, NONCE_USES, NONCES_MAX = 60, 20, 100000
local nonces, nonces_count = {}, 0

local function lower_hex(txn, s) return string.lower(txn.c:hex(s)) end

local function nonce_mac(txn, stamp)
  local ipad, opad = {}, {}
  for i = 1, 64 do
    local b = string.byte(DIGEST_KEY, i)
    ipad[i] = string.char(b ~ 0x36)
    opad[i] = string.char(b ~ 0x5c)
  end
  local inner = txn.c:sha2(table.concat(ipad) .. stamp, 256)
  return string.sub(lower_hex(txn, txn.c:sha2(table.concat(opad) .. inner, 256)), 1, 32)
end

-- The parameters of a Digest Authorization header (quoted strings unescaped), nil when it is not one or malformed.
local function digest_params(h)
  local scheme, rest = string.match(h, '^%s*(%a+)%s+(.-)%s*$')
  if scheme == nil or string.lower(scheme) ~= 'digest' then return nil end
  local p, pos = {}, 1
  while pos <= #rest do
    local key, after = string.match(rest, '^([%w_-]+)%s*=%s*()', pos)
    if key == nil then return nil end
    pos = after
    local value
    if string.sub(rest, pos, pos) == '"' then
      local out = {}
      pos = pos + 1
      while true do
        local c = string.sub(rest, pos, pos)
        if c == '' then return nil end
        pos = pos + 1
        if c == '"' then break end
        if c == '\\\\' then
          c = string.sub(rest, pos, pos)
          if c == '' then return nil end
          pos = pos + 1
        end
        out[#out + 1] = c
      end
      value = table.concat(out)
    else
      value, pos = string.match(rest, '^([^%s,"]*)()', pos)
    end
    key = string.lower(key)
    if p[key] ~= nil then return nil end
    p[key] = value
    local sep = string.match(rest, '^%s*,%s*()', pos)
    if sep == nil then
      if pos <= #rest then return nil end
    else
      pos = sep
    end
  end
  return p
end

core.register_action('portico_digest_parse', { 'http-req' }, function(txn)
  if txn.f:req_fhdr_cnt('authorization') ~= 1 then return end
  local p = digest_params(txn.f:req_fhdr('authorization') or '')
  if p == nil or p.username == nil or #p.username == 0 or #p.username > 255 or string.find(p.username, '[%c:]') then return end
  txn:set_priv(p)
  txn:set_var('txn.digest_user', (string.gsub(p.username, '.', function(c) return string.format('%02X', string.byte(c)) end)))
end)

-- true when the request's response is right and its nonce fresh; else false, and whether the nonce alone was wrong.
local function digest_check(txn, p, ha1, realm)
  if p.realm ~= realm or p.qop ~= 'auth' or (p.algorithm ~= nil and string.upper(p.algorithm) ~= 'MD5') then return false end
  if p.nonce == nil or p.uri == nil or p.cnonce == nil or p.nc == nil or p.response == nil then return false end
  if not string.match(p.nc, '^%x%x%x%x%x%x%x%x$') or not string.match(p.response, '^' .. string.rep('%x', 32) .. '$') then return false end
  -- The digest covers the uri parameter: it must be this request's, or a captured answer would open any path.
  if p.uri ~= txn.f:pathq() then return false end
  local ha2 = lower_hex(txn, txn.c:digest(txn.f:method() .. ':' .. p.uri, 'MD5'))
  local expected = lower_hex(txn, txn.c:digest(ha1 .. ':' .. p.nonce .. ':' .. p.nc .. ':' .. p.cnonce .. ':auth:' .. ha2, 'MD5'))
  if not same(expected, string.lower(p.response)) then return false end
  -- The password is right; from here only the nonce can be wrong, and stale=true lets the client retry at once.
  local stamp, mac = string.match(p.nonce, '^(%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x)(%x+)$')
  if stamp == nil or #mac ~= 32 or not same(nonce_mac(txn, stamp), mac) then return false, true end
  stamp = string.sub(stamp, 1, 8)
  local now, issued = core.now().sec, tonumber(stamp, 16)
  if issued > now + 1 or now - issued >= NONCE_TTL then return false, true end
  local entry = nonces[p.nonce]
  if entry == nil then
    if nonces_count >= NONCES_MAX then
      for k, e in pairs(nonces) do
        if e.expires <= now then
          nonces[k] = nil
          nonces_count = nonces_count - 1
        end
      end
      if nonces_count >= NONCES_MAX then return false, true end
    end
    entry = { nc = 0, uses = 0, expires = issued + NONCE_TTL }
    nonces[p.nonce] = entry
    nonces_count = nonces_count + 1
  end
  local nc = tonumber(p.nc, 16)
  if nc <= entry.nc or entry.uses >= NONCE_USES then return false, true end
  entry.nc, entry.uses = nc, entry.uses + 1
  return true
end

core.register_action('portico_digest_verify', { 'http-req' }, function(txn)
  local challenge = string.gsub(txn:get_var('txn.basic_auth') or '', '%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end)
  local realm = string.match(challenge, '^Digest realm="([^"]*)"$')
  if realm == nil or DIGEST_KEY == nil or #DIGEST_KEY ~= 64 then return end
  local p, ha1, stale = txn:get_priv(), txn:get_var('txn.digest_ha1'), false
  if type(p) == 'table' and ha1 ~= nil then
    local ok
    ok, stale = digest_check(txn, p, ha1, realm)
    if ok then
      txn:set_var('txn.basic_auth_ok', true)
      return
    end
  end
  -- The time, then 32 random bits, so that two clients never share a nonce (and its nc sequence).
  local stamp = string.format('%08x%08x', core.now().sec, txn.f:rand() & 0xffffffff)
  local value = 'Digest algorithm="MD5", qop="auth", realm="' .. realm .. '", nonce="' .. stamp .. nonce_mac(txn, stamp) .. '"' .. (stale and ', stale="true"' or '')
  txn:set_var('txn.basic_auth', (string.gsub(value, '[ "%%]', function(c) return string.format('%%%02X', string.byte(c)) end)))
end)

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
      const basic = c.inUse.has('authChallenges');
      const digest = c.inUse.has('authDigestChallenges');
      const isDigest = '{ var(txn.basic_auth) -m beg Digest }';
      return basic || digest
        ? [
            '# Basic authentication (auth-type: basic): the user\'s hash from the route id and the user name, checked by Lua;',
            '# 401 with the route\'s challenge when it is missing or wrong. The backend never receives the credentials (nginx',
            '# sends it an empty Authorization).',
            ...(basic ? [`http-request set-var(txn.basic_auth) ${c.routeId},map_str(${c.file('authChallenges')}) if ${c.hasId}`] : []),
            ...(digest ? [`http-request set-var(txn.basic_auth) ${c.routeId},map_str(${c.file('authDigestChallenges')}) if ${c.hasId} !{ var(txn.basic_auth) -m found }`] : []),
            ...(basic
              ? [
                  `http-request set-var(txn.basic_auth_user) http_auth_user,hex if { var(txn.basic_auth) -m found }${skip}`,
                  // No user at all (every line of every Secret refused): no lookup, so every request gets the 401.
                  ...(c.inUse.has('authUsers')
                    ? [
                        `http-request set-var(txn.basic_auth_hash) ${c.routeId},concat(|,txn.basic_auth_user),map_str(${c.file('authUsers')}) if { var(txn.basic_auth_user) -m found }`,
                        'http-request lua.portico_basic_auth if { var(txn.basic_auth_hash) -m found }',
                      ]
                    : []),
                ]
              : []),
            ...(digest
              ? [
                  '# Digest authentication (auth-type: digest): Lua reads the Authorization header\'s user, the map gives its HA1,',
                  '# Lua checks the response and the nonce, or puts a new nonce into the 401\'s challenge.',
                  `http-request lua.portico_digest_parse if ${isDigest}${skip}`,
                  ...(c.inUse.has('authDigestUsers') ? [`http-request set-var(txn.digest_ha1) ${c.routeId},concat(|,txn.digest_user),map_str(${c.file('authDigestUsers')}) if { var(txn.digest_user) -m found }`] : []),
                  `http-request lua.portico_digest_verify if ${isDigest}${skip}`,
                ]
              : []),
            `http-request return status 401 content-type "text/plain; charset=utf-8" hdr WWW-Authenticate "%[var(txn.basic_auth),url_dec]" string "401 Unauthorized: this route needs a user name and password\\n" if { var(txn.basic_auth) -m found } !{ var(txn.basic_auth_ok) -m bool }${skip}`,
            'http-request del-header Authorization if { var(txn.basic_auth) -m found }',
          ]
        : [];
    },
  },
});
