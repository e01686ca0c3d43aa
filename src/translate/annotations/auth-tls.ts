// Client-certificate authentication: the auth-tls-* annotations, as ingress-nginx's authtls parser
// (internal/ingress/annotations/authtls) reads them and its template applies them per server (host): the oldest
// Ingress on a host with auth-tls-secret decides for every path of the host, because the TLS handshake that asks for
// the certificate happens before any request says which path it wants. A CA Secret that is missing, in another
// namespace, without a usable `ca.crt`, or with a `ca.crl` that does not parse, fails closed: the whole host answers
// 403, as ingress-nginx's server does (`AuthTLSError` -> `return 403`).
import { X509Certificate, createHash } from 'node:crypto';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { X509Crl } from '@peculiar/x509';
import type { CaFile, ClientCertPolicy, Diagnostic } from '../../model/types.js';
import { isObject } from '../../k8s/objects.js';
import type { Obj } from '../../k8s/objects.js';
import { objectRef } from '../diagnostics.js';
import { headerPatternProblem } from '../path-regex.js';
import { annotation, NGINX_PREFIX } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { bool, integer, oneOf, quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';
import { secretNameGrammar } from './auth-basic.js';

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** ingress-nginx's redirectRegex for auth-tls-error-page, without its `@named` locations (Portico has none): an
 * absolute http(s) URL or a path, of letters, digits and `-._:/` only, so it is safe in a Location header and a map. */
const ERROR_PAGE = /^(((https?:\/\/)?[A-Za-z0-9\-.]+(:\d+)?)?(\/[A-Za-z0-9\-_.]+)*\/?)$/;

export const errorPageGrammar: ValueGrammar<string> = {
  describe: 'a URL (http or https) or a path, of letters, digits and -._:/',
  parse: (raw) => {
    if (raw.startsWith('@')) return fail(`${quote(raw)} names an nginx location; Portico has none: give a URL or a path`);
    if (raw.length > 2048 || !ERROR_PAGE.test(raw)) return fail(`${quote(raw)} is not a URL or a path of letters, digits and -._:/`);
    return ok(raw);
  },
};

/** `auth-tls-match-cn`: ingress-nginx asks for `CN=` followed by a regular expression; Portico's grammar for the
 * expression is the one of canary-by-header-pattern (path-regex.ts): no exponential matching, nothing that could
 * break the map line it is kept in. A space must be written `\s` or `.`. */
export const matchCnGrammar: ValueGrammar<string> = {
  describe: '"CN=" followed by a regular expression',
  parse: (raw) => {
    if (!raw.startsWith('CN=')) return fail(`${quote(raw)} does not start with "CN="`);
    const problem = headerPatternProblem(raw);
    return problem === undefined ? ok(raw) : fail(`${quote(raw)} ${problem} (a space is written \\s)`);
  },
};

const FAIL_CLOSED = 'every request to the host gets 403 until it is fixed (client authentication fails closed, as ingress-nginx answers 403 for the server)';

const SCOPE =
  'Applies to the whole host (every path of every Ingress on it), as in ingress-nginx, where it is a setting of the nginx server: the oldest Ingress on the host with auth-tls-secret decides (same age: namespace/name order).';

export const AUTH_TLS_ANNOTATIONS = [
  annotation({
    name: 'auth-tls-secret',
    scope: 'route',
    grammar: secretNameGrammar,
    set: (v, x) => (v.authTlsSecret = x),
    invalid: { means: FAIL_CLOSED, set: (v: AnnotationValues) => (v.authTlsSecret = 'invalid') },
    doc: {
      default: 'none: no client certificate is asked for',
      what:
        "The Secret (`name` or `namespace/name`) whose `ca.crt` holds the CA certificates client certificates must chain to, and optionally `ca.crl`, a CRL checked for every certificate of the chain. The TLS handshake of the host's SNI name asks for a certificate of these CAs. " +
        SCOPE +
        ' A Secret that is missing, in another namespace, without a `ca.crt` holding a PEM certificate, or whose `ca.crl` does not parse makes the whole host answer 403 (rule auth-tls-secret). Live: a new CA, a rotated CA or CRL and a new host with client authentication are runtime API operations; the first host with client authentication takes one reload (its rules).',
      differences:
        'a Secret in another namespace is always refused; ingress-nginx allows it when `allow-cross-namespace-resources` is on. A request whose TLS server name (SNI) is not its Host gets 421, as nginx answers when verification is on; Portico also answers 421 when the client sent no SNI at all. Over plain HTTP (a host without ssl-redirect) a route with `verify-client: on` answers 400 (no certificate can be sent), where ingress-nginx serves it without one.',
    },
  }),
  annotation({
    name: 'auth-tls-verify-client',
    scope: 'route',
    grammar: oneOf(['on', 'off', 'optional', 'optional_no_ca'] as const),
    set: (v, x) => (v.authTlsVerifyClient = x),
    invalid: { means: 'the default, on, applies', set: (v: AnnotationValues) => (v.authTlsVerifyClient = 'on') },
    doc: {
      default: '`on`',
      what:
        '`on`: a certificate of the CA is required; without one the answer is 400 `No required SSL certificate was sent`, with one that does not verify 400 `The SSL certificate error` (nginx\'s own pages and texts). `optional`: a certificate is asked for; none is fine, a bad one gets 400. `optional_no_ca`: a certificate is asked for and a certificate that fails only for want of a trusted issuer (unknown CA, self-signed) is passed on with `ssl-client-verify: FAILED:<reason>`; other failures (expired, bad signature, revoked) get 400. `off`: no certificate is asked for, the headers still say `NONE`. The backend receives `ssl-client-verify` (`SUCCESS`, `NONE`, `FAILED:<reason>`), and with a certificate `ssl-client-subject-dn` and `ssl-client-issuer-dn` (RFC 2253, as nginx\'s `$ssl_client_s_dn`); whatever the client sent under these names (and `ssl-client-cert`) is removed on every route while some host uses client authentication.',
      differences: 'HAProxy verifies in the handshake with `verify optional` and leaves the verdict to the request rules, so the answers are nginx\'s; the 400 bodies are one line of plain text rather than nginx\'s HTML page.',
    },
  }),
  annotation({
    name: 'auth-tls-verify-depth',
    scope: 'route',
    grammar: integer(0, 100),
    set: (v, x) => (v.authTlsVerifyDepth = x),
    doc: {
      default: '1',
      what: 'The longest certificate chain accepted between the client certificate and the CA (0 counts as 1, as in ingress-nginx).',
      differences: 'HAProxy 2.6 has no verify-depth setting: the value is read and kept in the model, but chains are verified with OpenSSL\'s default depth (100). A client can therefore present a longer chain of intermediates, each still signed under a CA of `ca.crt`.',
    },
  }),
  annotation({
    name: 'auth-tls-pass-certificate-to-upstream',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.authTlsPassCertificate = x),
    doc: {
      default: '`false`',
      what: 'The backend receives the client certificate in `ssl-client-cert`, PEM URL-encoded as nginx\'s `$ssl_client_escaped_cert` (`-----BEGIN%20CERTIFICATE-----%0AMII...`).',
      differences: 'only the leaf is passed, as nginx does.',
    },
  }),
  annotation({
    name: 'auth-tls-error-page',
    scope: 'route',
    grammar: errorPageGrammar,
    set: (v, x) => (v.authTlsErrorPage = x),
    doc: {
      default: 'none: the 400',
      what: 'Where a request without the certificate `verify-client` asks for, or with a bad one, is redirected (302, `Location` as written) instead of getting 400 (nginx\'s `error_page 495 496 = <url>`).',
      differences: 'a path is redirected to as well (a relative `Location`), where nginx serves it internally; `@name` locations are refused (A1).',
    },
  }),
  annotation({
    name: 'auth-tls-match-cn',
    scope: 'route',
    grammar: matchCnGrammar,
    set: (v, x) => (v.authTlsMatchCn = x),
    invalid: { means: FAIL_CLOSED, set: (v: AnnotationValues) => (v.authTlsBroken = true) },
    doc: {
      default: 'none: any subject',
      what: 'A regular expression that must be found in the client certificate\'s subject DN (RFC 2253, `CN=client,O=Example`), case-sensitively, as nginx\'s `$ssl_client_s_dn !~ "<value>"`; a request without a certificate, or whose subject does not match, gets 403 `client certificate unauthorized`.',
      differences: 'the expression must pass the grammar of canary-by-header-pattern (no backreferences or lookaround, no repeated group that repeats, no space: write `\\s`); ingress-nginx accepts any Go regular expression.',
    },
  }),
];

// --- The CA Secret ------------------------------------------------------------------------------------------------

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;
/** A CA file travels as one runtime API payload; HAProxy's CLI buffer is 16 kB (execute.ts keeps a margin). */
const MAX_CA_CERTIFICATES = 100;

export function secretValue(secret: Obj, key: string): string | undefined {
  const stringData = isObject(secret.stringData) ? secret.stringData : {};
  if (typeof stringData[key] === 'string') return stringData[key];
  const data = isObject(secret.data) ? secret.data : {};
  const v = data[key];
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
}

export type ParsedCa = { ok: true; ca: CaFile } | { ok: false; field: 'data[ca.crt]' | 'data[ca.crl]'; reason: string };

const parsedCas = new WeakMap<Obj, ParsedCa>();

/** `ca.crt` (and `ca.crl`) of a Secret, parsed and re-encoded; cached per Secret object. */
export function parseCaSecret(secret: Obj, key: string): ParsedCa {
  const known = parsedCas.get(secret);
  if (known) return known;
  const parsed = parseCa(secret, key);
  parsedCas.set(secret, parsed);
  return parsed;
}

function parseCa(secret: Obj, key: string): ParsedCa {
  const crt = secretValue(secret, 'ca.crt');
  if (crt === undefined || crt.trim() === '') return { ok: false, field: 'data[ca.crt]', reason: 'has no key "ca.crt" (or it is not base64)' };
  const blocks = crt.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { ok: false, field: 'data[ca.crt]', reason: 'ca.crt holds no PEM certificate' };
  if (blocks.length > MAX_CA_CERTIFICATES) return { ok: false, field: 'data[ca.crt]', reason: `ca.crt holds ${blocks.length} certificates; at most ${MAX_CA_CERTIFICATES} are taken` };
  let pem: string;
  try {
    pem = blocks.map((b) => new X509Certificate(b).toString()).join('');
  } catch {
    return { ok: false, field: 'data[ca.crt]', reason: 'ca.crt holds a PEM block that is not a valid certificate' };
  }
  let crl: string | undefined;
  const crlText = secretValue(secret, 'ca.crl');
  if (crlText !== undefined && crlText.trim() !== '') {
    const crls = crlText.match(PEM_CRL) ?? [];
    if (crls.length === 0) return { ok: false, field: 'data[ca.crl]', reason: 'ca.crl holds no PEM CRL' };
    try {
      crl = crls.map((b) => `${new X509Crl(b).toString('pem').replace(/\r/g, '').trim()}\n`).join('');
    } catch {
      return { ok: false, field: 'data[ca.crl]', reason: 'ca.crl holds a PEM block that is not a valid CRL' };
    }
  }
  const sha256 = createHash('sha256').update(pem).update('\0').update(crl ?? '').digest('hex');
  return { ok: true, ca: { id: key.replace('/', '_'), secret: key, pem, ...(crl !== undefined ? { crl } : {}), sha256 } };
}

// --- A host's client authentication -------------------------------------------------------------------------------

export interface HostClientAuth {
  policy: ClientCertPolicy;
  /** The CA the handshake asks for (absent for `off` and `refuse`). */
  tls?: { ca: CaFile; depth: number };
  diagnostics: Diagnostic[];
  /** Secrets read (namespace/name), so that a change rebuilds the host. */
  read: string[];
}

/**
 * The client authentication of a host, from the Ingresses with a rule on it, oldest first: ingress-nginx takes the
 * first Ingress whose CA loaded, and any Ingress whose auth-tls failed turns the whole server into a 403.
 */
export function hostClientAuth(ingresses: readonly { namespace: string; ref: string; annotations: AnnotationValues }[], lookup: (key: string) => Obj | undefined): HostClientAuth | undefined {
  let chosen: HostClientAuth | undefined;
  let broken: HostClientAuth | undefined;
  const read: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const ing of ingresses) {
    const v = ing.annotations;
    if (v.authTlsSecret === undefined && !v.authTlsBroken) continue;
    const field = `metadata.annotations[${NGINX_PREFIX}auth-tls-secret]`;
    const refuse = (why?: string): HostClientAuth => {
      if (why !== undefined) diagnostics.push({ level: 'warning', object: ing.ref, field, rule: 'auth-tls-secret', message: `${why}: ${FAIL_CLOSED}` });
      return { policy: { verify: 'refuse', passCertificate: false }, diagnostics: [], read: [] };
    };
    if (v.authTlsSecret === undefined || v.authTlsSecret === 'invalid' || v.authTlsBroken) {
      broken ??= refuse(v.authTlsSecret === undefined ? 'auth-tls-match-cn is invalid, or another auth-tls annotation that fails closed is set without auth-tls-secret' : undefined);
      continue;
    }
    const namespace = v.authTlsSecret.namespace ?? ing.namespace;
    const key = `${namespace}/${v.authTlsSecret.name}`;
    if (namespace !== ing.namespace) {
      broken ??= refuse(`Secret ${key} is in another namespace, which an Ingress may not use`);
      continue;
    }
    read.push(key);
    const secret = lookup(key);
    if (!secret) {
      broken ??= refuse(`Secret ${key} was not found`);
      continue;
    }
    const parsed = parseCaSecret(secret, key);
    if (!parsed.ok) {
      diagnostics.push({ level: 'error', object: objectRef('Secret', { namespace, name: v.authTlsSecret.name }), field: parsed.field, rule: 'auth-tls-secret', message: `${parsed.reason}; it cannot be used as a client CA` });
      broken ??= refuse(`Secret ${key} ${parsed.reason}`);
      continue;
    }
    if (chosen) continue;
    const verify = v.authTlsVerifyClient ?? 'on';
    const policy: ClientCertPolicy = { verify, passCertificate: v.authTlsPassCertificate === true };
    if (v.authTlsMatchCn !== undefined) policy.matchCn = v.authTlsMatchCn;
    if (v.authTlsErrorPage !== undefined) policy.errorPage = v.authTlsErrorPage;
    const depth = v.authTlsVerifyDepth === undefined || v.authTlsVerifyDepth === 0 ? 1 : v.authTlsVerifyDepth;
    chosen = { policy, ...(verify === 'off' ? {} : { tls: { ca: parsed.ca, depth } }), diagnostics: [], read: [] };
  }
  const result = broken ?? chosen;
  if (!result) return undefined;
  return { ...result, diagnostics, read };
}
