// Basic authentication: auth-type: basic, auth-secret, auth-secret-type and auth-realm, as ingress-nginx's auth
// annotation parser (internal/ingress/annotations/auth) and nginx's auth_basic apply them to an Ingress's locations.
// Every way the route could end up unprotected fails closed instead, as ingress-nginx's LocationDeniedError does
// (503): a bad auth-type, auth-secret or auth-secret-type, a Secret that is missing, in another namespace, or without
// the `auth` key. A bad line in a Secret only costs its own user the login (nginx would not match it either).
import { createHash } from 'node:crypto';
import type { BasicAuth, Diagnostic } from '../../model/types.js';
import { isObject } from '../../k8s/objects.js';
import type { Obj } from '../../k8s/objects.js';
import { objectRef } from '../diagnostics.js';
import type { Findings } from '../diagnostics.js';
import { annotation, NGINX_PREFIX, PORTICO_PREFIX } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { oneOf, quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** Slowest bcrypt cost the Lua verifier takes: each step doubles the work (cost 5, htpasswd's default, takes about
 * 0.1 s of Lua; cost 10 about 3 s, near HAProxy's Lua timeout of 4 s). */
export const BCRYPT_MAX_COST = 9;

/** Most rounds of SHA-256/512-crypt the Lua verifier takes (htpasswd -2/-5 default to 5,000): 200,000 rounds of
 * SHA-512 over a 511-byte password take about 0.3 s of Lua, less than bcrypt at cost 9. */
export const SHA_CRYPT_MAX_ROUNDS = 200_000;

/** `auth-type`: `basic` or `digest`, as ingress-nginx's authTypeRegex (whose unanchored match would also take
 * `xbasicx`: here the word itself, spaces trimmed). */
export const authTypeGrammar: ValueGrammar<'basic' | 'digest'> = {
  describe: '"basic" or "digest"',
  parse: (raw) => {
    const v = raw.trim();
    if (v === 'basic' || v === 'digest') return ok(v);
    return fail(`${quote(raw)} is not "basic" or "digest"`);
  },
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface SecretName {
  namespace?: string;
  name: string;
}

/** `auth-secret`: `name` or `namespace/name` (client-go's SplitMetaNamespaceKey), each part a Kubernetes name. */
export const secretNameGrammar: ValueGrammar<SecretName> = {
  describe: 'a Secret name, or namespace/name',
  parse: (raw) => {
    const parts = raw.split('/');
    if (parts.length > 2) return fail(`${quote(raw)} is not a Secret name or namespace/name`);
    const name = parts[parts.length - 1]!;
    const namespace = parts.length === 2 ? parts[0]! : undefined;
    if (!DNS_SUBDOMAIN.test(name) || (namespace !== undefined && !DNS_LABEL.test(namespace))) return fail(`${quote(raw)} is not a Secret name or namespace/name`);
    return ok(namespace === undefined ? { name } : { namespace, name });
  },
};

/** `auth-realm`: ingress-nginx's grammar for it (CharsWithSpace), which no quote, backslash or control character
 * passes: the realm goes inside the quotes of WWW-Authenticate as it is. */
export const realmGrammar: ValueGrammar<string> = {
  describe: 'letters, digits, spaces and -._~/: (at most 256)',
  parse: (raw) => (/^[-._~a-zA-Z0-9/: ]{1,256}$/.test(raw) ? ok(raw) : fail(`${quote(raw)} holds something other than letters, digits, spaces and -._~/: (or is longer than 256)`)),
};

const FAIL_CLOSED = "every request to this Ingress's paths gets 503 until the value is fixed (authentication fails closed, as ingress-nginx denies the location)";

const SHARED_DIFFERENCES =
  "the 401 and 503 bodies are one line of plain text, not nginx's HTML page. Hashes: every scheme Debian's htpasswd writes is checked, as nginx on Linux checks it: apr1 (`$apr1$`, htpasswd's default), `{SHA}` (`-s`), bcrypt (`-B`, `$2y$`, `$2b$`, `$2a$`) up to cost " +
  `${BCRYPT_MAX_COST}` +
  ', SHA-256/512-crypt (`-2`, `-5`, `$5$`, `$6$`, `rounds=` from 1000 up to ' +
  `${SHA_CRYPT_MAX_ROUNDS}` +
  "), DES crypt (`-d`; only a password's first 8 characters count, as in crypt()) and MD5-crypt (`$1$`); and nginx's own `{SSHA}` and `{PLAIN}<password>`. htpasswd's `-p` plain text (no `{PLAIN}`) is reported and matches nothing, as in nginx, which hands it to crypt(). A line with a higher bcrypt cost or more rounds, or another crypt() scheme of glibc's libxcrypt (yescrypt `$y$`, scrypt `$7$`, NT `$3$`, BSDi `_`), is reported (rule auth-secret) and its user cannot log in, where nginx would check it. As with libxcrypt, a password of 512 bytes or more never matches a crypt() scheme (DES, `$1$`, bcrypt, `$5$`, `$6$`); apr1, `{SHA}`, `{SSHA}` and `{PLAIN}` take any length (nginx's own code). The hashes are checked by HAProxy's Lua, which is slower than C (bcrypt about 30 times): a successful check is remembered for 60 s, a failed one costs every time.";

export const AUTH_BASIC_ANNOTATIONS = [
  annotation({
    name: 'auth-type',
    scope: 'route',
    grammar: authTypeGrammar,
    set: (v, x) => (v.authType = x),
    invalid: { means: FAIL_CLOSED, set: (v: AnnotationValues) => (v.authType = 'invalid') },
    doc: {
      default: 'none: no authentication',
      what:
        "With `basic`, every request to this Ingress's paths needs a user name and password of `auth-secret` (HTTP basic authentication); without them, or with wrong ones, the answer is 401 with `WWW-Authenticate: Basic realm=\"<auth-realm>\"`. With `digest`, HTTP digest authentication as nginx's auth_digest module (which ingress-nginx loads) does it: RFC 7616 with MD5 and `qop=auth`, the Secret holding htdigest lines (`user:realm:HA1`, auth-file; auth-map: each key a user, its value `realm:HA1`) of which only those of `auth-realm`'s realm count; the 401 carries `WWW-Authenticate: Digest algorithm=\"MD5\", qop=\"auth\", realm=\"<auth-realm>\", nonce=\"...\"`, with `stale=\"true\"` when the password was right but the nonce is no longer accepted. A nonce is accepted for 60 s from its issue and for 20 requests, each with a higher `nc` (the module's auth_digest_timeout and auth_digest_replays defaults), and the answer must be for the request's own method and URI. The backend does not receive the Authorization header (nginx sends it an empty one). Checked after the access lists and before anything else answers for the route. Live: a user added or removed, or a password changed, in the Secret is a map update; the first route of either type takes a reload (its rules).",
      differences:
        "an unknown value answers 503, where ingress-nginx refuses the whole Ingress (and, matching its pattern unanchored, takes values such as `xbasic`). Digest: nonces are HMACs of their issue time under a key each HAProxy process draws at start, so a reload makes clients repeat their last request once (stale=\"true\"); a nonce's uses are remembered in that process only (at most 100,000 nonces at once; past that, new ones get stale=\"true\" until old ones expire); no Authentication-Info header (rspauth) is sent; the module's auth_digest_expires, auth_digest_maxtries and auth_digest_evasion_time (locking out a client after 5 failures) are not reproduced: every failure gets 401 with a new nonce. " + SHARED_DIFFERENCES,
    },
  }),
  annotation({
    name: 'auth-secret',
    scope: 'route',
    grammar: secretNameGrammar,
    set: (v, x) => (v.authSecret = x),
    invalid: { means: FAIL_CLOSED, set: (v: AnnotationValues) => (v.authSecret = 'invalid') },
    doc: {
      default: 'none',
      what:
        "The Secret holding the users, `name` (the Ingress's namespace) or `namespace/name`. A Secret that does not exist, lies in another namespace, or lacks the `auth` key (auth-file) makes every request to the paths get 503 until it is fixed, as ingress-nginx denies the location.",
      differences: "a Secret in another namespace is always refused; ingress-nginx allows it when its `allow-cross-namespace-resources` setting is on (off by default).",
    },
  }),
  annotation({
    name: 'auth-secret-type',
    scope: 'route',
    grammar: oneOf(['auth-file', 'auth-map'] as const),
    set: (v, x) => (v.authSecretType = x),
    invalid: { means: FAIL_CLOSED, set: (v: AnnotationValues) => (v.authSecretType = 'invalid') },
    doc: {
      default: '`auth-file`',
      what:
        '`auth-file`: the Secret\'s `auth` key holds an htpasswd file (`user:hash` lines; empty lines and `#` comments skipped; the first line of a user wins), or with auth-type `digest` an htdigest file (`user:realm:HA1`). `auth-map`: each key of the Secret is a user and its value the hash (digest: `realm:HA1`).',
    },
  }),
  annotation({
    name: 'auth-realm',
    scope: 'route',
    grammar: realmGrammar,
    set: (v, x) => (v.authRealm = x),
    doc: {
      default: 'empty: `Basic realm=""`',
      what: 'The realm in the 401\'s `WWW-Authenticate: Basic realm="<realm>"` (or `Digest ... realm="<realm>"`), which browsers show when they ask for the password. With auth-type `digest`, only the Secret\'s lines of this realm can log in (the realm is part of HA1); the others are reported (rule auth-secret).',
      differences: 'nginx turns basic authentication off for the realm `off` (a rule of its auth_basic directive); Portico still asks for a password and warns (rule auth-ignored). A realm that fails the grammar is ignored and the realm is empty, where ingress-nginx refuses the whole Ingress.',
    },
  }),
];

/** Warnings for the combinations that leave a route unprotected in ingress-nginx, so the user is not surprised. */
export function checkAuth(v: AnnotationValues, raw: Record<string, string>, f: Findings): void {
  const key = (name: string): string => (raw[PORTICO_PREFIX + name] ? PORTICO_PREFIX + name : NGINX_PREFIX + name);
  if (v.authType === undefined && (v.authSecret !== undefined || v.authSecretType !== undefined || v.authRealm !== undefined)) {
    const name = v.authSecret !== undefined ? 'auth-secret' : v.authRealm !== undefined ? 'auth-realm' : 'auth-secret-type';
    f.warn(`metadata.annotations[${key(name)}]`, 'auth-ignored', 'auth-secret, auth-secret-type and auth-realm have no effect without auth-type ("basic" or "digest"); the paths need no password, as in ingress-nginx');
  }
  if (v.authType === 'basic' && v.authRealm === 'off')
    f.warn(`metadata.annotations[${key('auth-realm')}]`, 'auth-ignored', 'nginx turns basic authentication off for the realm "off"; Portico still asks for a password');
  if (v.authSecret !== undefined) v.authSecretField = `metadata.annotations[${key('auth-secret')}]`;
  if ((v.authType === 'basic' || v.authType === 'digest') && v.authSecret === undefined)
    f.warn(`metadata.annotations[${key('auth-type')}]`, 'auth-secret', `auth-type "${v.authType}" without auth-secret: ${FAIL_CLOSED.replace('the value is fixed', 'auth-secret is set')}`);
}

// --- The Secret ---------------------------------------------------------------------------------------------------

const B64 = '[./0-9A-Za-z]';
const MD5CRYPT = new RegExp(`^\\$(apr1|1)\\$${B64}{1,8}\\$${B64}{22}$`);
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const SSHA = /^\{SSHA\}([A-Za-z0-9+/]{4}){6,128}([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BCRYPT = new RegExp(`^\\$2[aby]\\$(\\d\\d)\\$${B64}{53}$`);
const SHACRYPT = new RegExp(`^\\$([56])\\$(?:rounds=(\\d+)\\$)?(${B64}{0,16})\\$(${B64}+)$`);
const DES = new RegExp(`^${B64}{13}$`);
// eslint-disable-next-line no-control-regex -- the control characters are what the class refuses
const USER = /^[^\x00-\x1f\x7f:]{1,255}$/u;

/** `{PLAIN}<password>` as it reaches render: the password's SHA-256 (uppercase hex), so no map file, runtime command or
 * debug dump carries a password; the Lua compares the SHA-256 of what the client sent. */
export const PLAIN_SHA256 = '{PLAIN-SHA256}';

/** Why a hash cannot be checked, or undefined when it can. Never quotes the hash. */
export function hashProblem(hash: string): string | undefined {
  if (MD5CRYPT.test(hash) || SHA1.test(hash) || DES.test(hash)) return undefined;
  if (hash.startsWith('{PLAIN}')) return undefined;
  if (hash.startsWith('{SSHA}')) {
    if (!SSHA.test(hash) || Buffer.from(hash.slice(6), 'base64').length < 20) return 'the {SSHA} value is not base64 of a 20-byte SHA-1 and a salt (at most 512 characters)';
    return undefined;
  }
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    if (cost < 4 || cost > 31) return 'the bcrypt hash has an impossible cost';
    return cost <= BCRYPT_MAX_COST ? undefined : `bcrypt cost ${cost} is above ${BCRYPT_MAX_COST}, the most Portico checks in time (htpasswd -B uses 5)`;
  }
  const sha = SHACRYPT.exec(hash);
  if (sha) {
    if (sha[4]!.length !== (sha[1] === '5' ? 43 : 86)) return `the SHA-${sha[1] === '5' ? '256' : '512'}-crypt hash has the wrong length`;
    if (sha[2] === undefined) return undefined;
    const rounds = Number(sha[2]);
    // The C library refuses rounds below 1,000 and a leading zero: no password matches such a line in nginx either.
    if (sha[2].startsWith('0') || rounds < 1000) return 'rounds below 1000 (the C library matches no password against it)';
    return rounds <= SHA_CRYPT_MAX_ROUNDS ? undefined : `rounds=${rounds} is above ${SHA_CRYPT_MAX_ROUNDS}, the most Portico checks in time (htpasswd -2/-5 use 5000)`;
  }
  if (/^\$[56]\$/.test(hash)) return 'the SHA-256/512-crypt hash is malformed (a salt of at most 16 characters of ./0-9A-Za-z, rounds= a number)';
  if (/^\$(apr1|1|2[aby])\$/.test(hash)) return 'the hash is malformed';
  if (/^\$[a-z0-9]+\$/.test(hash)) return 'this crypt() scheme is not one htpasswd writes (yescrypt, scrypt, NT hashes are not checked)';
  return 'the hash is not one htpasswd writes (apr1, MD5-crypt, bcrypt, SHA-256/512-crypt, DES crypt, {SHA}, {SSHA}, {PLAIN}); a plain-text password without {PLAIN} matches nothing, as nginx on Linux hands it to crypt()';
}

/** The hash as render gets it: `{PLAIN}` passwords as their SHA-256 (see PLAIN_SHA256), everything else as written. */
export function storedHash(hash: string): string {
  if (!hash.startsWith('{PLAIN}')) return hash;
  return PLAIN_SHA256 + createHash('sha256').update(hash.slice('{PLAIN}'.length), 'utf8').digest('hex').toUpperCase();
}

export interface AuthUsers {
  users: [string, string][];
  /** Bad lines or keys: the field (`data[auth]`, `data[<key>]`) and why, the hash never quoted. */
  problems: { field: string; reason: string }[];
}

function secretValue(secret: Obj, key: string): string | undefined {
  const stringData = isObject(secret.stringData) ? secret.stringData : {};
  if (typeof stringData[key] === 'string') return stringData[key];
  const data = isObject(secret.data) ? secret.data : {};
  const v = data[key];
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

function secretKeys(secret: Obj): string[] {
  const keys = new Set<string>();
  for (const m of [secret.data, secret.stringData]) if (isObject(m)) for (const k of Object.keys(m)) keys.add(k);
  return [...keys].sort();
}

function addUser(out: AuthUsers, seen: Set<string>, field: string, where: string, user: string, hash: string): void {
  if (!USER.test(user) || Buffer.byteLength(user) > 255) {
    out.problems.push({ field, reason: `${where}: the user name is empty, longer than 255 bytes, or holds a control character or ':'; the line is skipped` });
    return;
  }
  if (seen.has(user)) {
    out.problems.push({ field, reason: `${where}: user ${quote(user)} was already given; the first one is used, as nginx does` });
    return;
  }
  const problem = hashProblem(hash);
  if (problem !== undefined) {
    out.problems.push({ field, reason: `${where}: user ${quote(user)}: ${problem}; this user cannot log in` });
    return;
  }
  seen.add(user);
  out.users.push([user, storedHash(hash)]);
}

/**
 * Each `user:rest` line of an auth file, as nginx reads one: `\r\n` endings, empty lines and `#` comments skipped, and a
 * line without `:` reported (`fields` names what it lacks) and skipped.
 */
function authFileLines(text: string, field: string, fields: string, add: (out: AuthUsers, seen: Set<string>, where: string, user: string, rest: string) => void): AuthUsers {
  const out: AuthUsers = { users: [], problems: [] };
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon < 0) {
      out.problems.push({ field, reason: `line ${i + 1}: no ':' between ${fields}; the line is skipped` });
      return;
    }
    add(out, seen, `line ${i + 1}`, line.slice(0, colon), line.slice(colon + 1));
  });
  return out;
}

/** The users of an htpasswd file (auth-file): `user:hash` lines, as nginx's auth_basic_user_file reads them. htpasswd
 * may add fields after the hash (`user:hash:comment`); nginx reads the hash up to the line's end, so a third field
 * makes the line one no password matches. The same here: the whole rest is the hash. */
export function parseHtpasswd(text: string, field = 'data[auth]'): AuthUsers {
  return authFileLines(text, field, 'user and hash', (out, seen, where, user, hash) => addUser(out, seen, field, where, user, hash));
}

const HA1 = /^[0-9a-f]{32}$/;

function addDigestUser(out: AuthUsers, seen: Set<string>, field: string, where: string, user: string, realmAndHash: string, realm: string): void {
  const colon = realmAndHash.lastIndexOf(':');
  const lineRealm = colon < 0 ? undefined : realmAndHash.slice(0, colon);
  const ha1 = realmAndHash.slice(colon + 1);
  if (!USER.test(user) || Buffer.byteLength(user) > 255) {
    out.problems.push({ field, reason: `${where}: the user name is empty, longer than 255 bytes, or holds a control character or ':'; the line is skipped` });
    return;
  }
  if (lineRealm === undefined || !HA1.test(ha1)) {
    out.problems.push({ field, reason: `${where}: user ${quote(user)}: not htdigest's realm:hash (32 lowercase hexadecimal digits of MD5(user:realm:password)); this user cannot log in` });
    return;
  }
  // nginx's digest module looks a user up by name and realm: a line of another realm never matches.
  if (lineRealm !== realm) {
    out.problems.push({ field, reason: `${where}: user ${quote(user)}: the line's realm ${quote(lineRealm)} is not auth-realm ${quote(realm)}; this user cannot log in` });
    return;
  }
  if (seen.has(user)) {
    out.problems.push({ field, reason: `${where}: user ${quote(user)} was already given; the first one is used` });
    return;
  }
  seen.add(user);
  out.users.push([user, ha1]);
}

/** The users of an htdigest file (auth-file with auth-type digest): `user:realm:HA1` lines of auth-realm's realm. */
export function parseHtdigest(text: string, realm: string, field = 'data[auth]'): AuthUsers {
  return authFileLines(text, field, 'user, realm and hash', (out, seen, where, user, rest) => addDigestUser(out, seen, field, where, user, rest, realm));
}

/** A Secret's digest users: auth-file an htdigest file, auth-map each key a user and its value `realm:HA1`. */
export function secretDigestUsers(secret: Obj, type: 'auth-file' | 'auth-map', realm: string): AuthUsers | { missing: string } {
  if (type === 'auth-file') {
    const text = secretValue(secret, 'auth');
    return text === undefined ? { missing: 'has no key "auth" (or it is not base64)' } : parseHtdigest(text, realm);
  }
  const out: AuthUsers = { users: [], problems: [] };
  const seen = new Set<string>();
  for (const key of secretKeys(secret)) {
    const value = secretValue(secret, key);
    const field = `data[${key}]`;
    if (value === undefined) out.problems.push({ field, reason: 'not base64; the user is skipped' });
    else addDigestUser(out, seen, field, `key ${quote(key)}`, key, value.replace(/\r?\n$/, ''), realm);
  }
  return out;
}

const parsed = new WeakMap<Obj, Map<string, AuthUsers | { missing: string }>>();

/** A Secret's users for a secret type, or why the route must fail closed. Cached per Secret object. */
export function secretUsers(secret: Obj, type: 'auth-file' | 'auth-map'): AuthUsers | { missing: string } {
  let byType = parsed.get(secret);
  if (!byType) parsed.set(secret, (byType = new Map<string, AuthUsers | { missing: string }>()));
  const known = byType.get(type);
  if (known) return known;
  let result: AuthUsers | { missing: string };
  if (type === 'auth-file') {
    const text = secretValue(secret, 'auth');
    result = text === undefined ? { missing: 'has no key "auth" (or it is not base64)' } : parseHtpasswd(text);
  } else {
    result = { users: [], problems: [] };
    const seen = new Set<string>();
    for (const key of secretKeys(secret)) {
      const value = secretValue(secret, key);
      const field = `data[${key}]`;
      if (value === undefined) result.problems.push({ field, reason: 'not base64; the user is skipped' });
      else addUser(result, seen, field, `key ${quote(key)}`, key, value.replace(/\r?\n$/, ''));
    }
  }
  byType.set(type, result);
  return result;
}

/** What a route of an Ingress gets: authentication, nothing, or refusal (503) with the findings that say why. */
export function authOf(
  v: AnnotationValues,
  ing: { namespace: string; ref: string },
  lookup: (key: string) => Obj | undefined,
): { auth?: BasicAuth; refuse?: true; diagnostics: Diagnostic[] } {
  if (v.authType === undefined) return { diagnostics: [] };
  if (v.authType === 'invalid' || v.authSecret === undefined || v.authSecret === 'invalid' || v.authSecretType === 'invalid') return { refuse: true, diagnostics: [] };
  const field = v.authSecretField ?? `metadata.annotations[${NGINX_PREFIX}auth-secret]`;
  const namespace = v.authSecret.namespace ?? ing.namespace;
  const key = `${namespace}/${v.authSecret.name}`;
  const refuse = (why: string): { refuse: true; diagnostics: Diagnostic[] } => ({
    refuse: true,
    diagnostics: [{ level: 'warning', object: ing.ref, field, rule: 'auth-secret', message: `Secret ${key} ${why}: every request to this Ingress's paths gets 503 until it is fixed (authentication fails closed, as ingress-nginx denies the location)` }],
  });
  if (namespace !== ing.namespace) return refuse('is in another namespace, which an Ingress may not use');
  const secret = lookup(key);
  if (!secret) return refuse('was not found');
  const type = v.authSecretType ?? 'auth-file';
  const realm = v.authRealm ?? '';
  const users = v.authType === 'digest' ? secretDigestUsers(secret, type, realm) : secretUsers(secret, type);
  if ('missing' in users) return refuse(users.missing);
  const object = objectRef('Secret', { namespace, name: v.authSecret.name });
  const diagnostics: Diagnostic[] = users.problems.map((p) => ({ level: 'warning', object, field: p.field, rule: 'auth-secret', message: p.reason }));
  if (users.users.length === 0) diagnostics.push({ level: 'warning', object: ing.ref, field, rule: 'auth-secret', message: `Secret ${key} holds no usable user: every request to this Ingress's paths gets 401` });
  return { auth: { realm, secret: key, users: users.users, ...(v.authType === 'digest' ? { scheme: 'digest' as const } : {}) }, diagnostics };
}
