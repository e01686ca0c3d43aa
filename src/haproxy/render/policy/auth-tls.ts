// Render side of client-certificate authentication (auth-tls-*; src/translate/annotations/auth-tls.ts). The handshake
// is the SNI line's (`[ca-file <ca> verify optional]` in the crt-list, render.ts), with the bind's `ca-ignore-err all
// crt-ignore-err all`, so that no certificate, or a bad one, still gives a request: these rules then answer it as
// nginx does (400 with nginx's texts, the error-page redirect, 403 for match-cn), and tell the backend what was
// verified. A route's settings are map data keyed by its id: a host gaining client authentication, or changing its
// mode, is a map update once the rules exist.
import type { ClientCertPolicy } from '../../../model/types.js';
import { LUA_MATCHES } from './lua-regex.js';
import { policyFamily } from './family.js';

export const AUTH_TLS_MAPS = {
  /** route id -> `<mode>|<pass>`: mode `on`, `opt`, `nca`, `off` or `deny`; pass `1` sends ssl-client-cert. */
  authTls: 'maps/auth-tls.map',
  /** route id -> the auth-tls-error-page URL or path. */
  authTlsErrorPage: 'maps/auth-tls-error-page.map',
  /** route id -> the auth-tls-match-cn expression. */
  authTlsCn: 'maps/auth-tls-cn.map',
} as const;
export const AUTH_TLS_LUA = 'lua/auth-tls.lua';

/** The client-certificate headers ingress-nginx sends upstream; a client's own are removed first. */
export const CLIENT_CERT_HEADERS = ['ssl-client-cert', 'ssl-client-verify', 'ssl-client-subject-dn', 'ssl-client-issuer-dn'] as const;

/** OpenSSL's X509_V_ERR codes that nginx's `optional_no_ca` lets through (ngx_ssl_verify_error_optional): the
 * certificate is fine but for its issuer being unknown or untrusted. */
const NO_CA_ERRORS = [2, 18, 19, 20, 21, 27];

// X509_verify_cert_error_string of OpenSSL 3 for the codes a client certificate can fail with, so that
// ssl-client-verify says `FAILED:<reason>` in nginx's words. The PEM is rebuilt from HAProxy's base64 of the DER in
// 64-character lines and escaped as nginx's $ssl_client_escaped_cert (ngx_escape_uri, URI component: everything but
// letters, digits, `-` and `.`). match-cn searches the RFC 2253 subject with HAProxy's PCRE2, compiled once per
// expression (the expressions passed translate's grammar, so none takes exponential time).
const LUA = `local reasons = {
  [2] = 'unable to get issuer certificate', [3] = 'unable to get certificate CRL',
  [4] = "unable to decrypt certificate's signature", [5] = "unable to decrypt CRL's signature",
  [6] = 'unable to decode issuer public key', [7] = 'certificate signature failure', [8] = 'CRL signature failure',
  [9] = 'certificate is not yet valid', [10] = 'certificate has expired', [11] = 'CRL is not yet valid',
  [12] = 'CRL has expired', [13] = "format error in certificate's notBefore field",
  [14] = "format error in certificate's notAfter field", [15] = "format error in CRL's lastUpdate field",
  [16] = "format error in CRL's nextUpdate field", [18] = 'self-signed certificate',
  [19] = 'self-signed certificate in certificate chain', [20] = 'unable to get local issuer certificate',
  [21] = 'unable to verify the first certificate', [22] = 'certificate chain too long', [23] = 'certificate revoked',
  [24] = 'invalid CA certificate', [25] = 'path length constraint exceeded', [26] = 'unsupported certificate purpose',
  [27] = 'certificate not trusted', [28] = 'certificate rejected',
}

core.register_converters('portico_x509_error', function(code)
  local n = tonumber(code)
  return reasons[n] or ('error number ' .. tostring(n))
end)

core.register_converters('portico_pem_escape', function(b64)
  local lines = {}
  for i = 1, #b64, 64 do lines[#lines + 1] = string.sub(b64, i, i + 63) end
  local pem = '-----BEGIN CERTIFICATE-----\\n' .. table.concat(lines, '\\n') .. '\\n-----END CERTIFICATE-----\\n'
  return (string.gsub(pem, '[^%w%-%.]', function(c) return string.format('%%%02X', string.byte(c)) end))
end)

${LUA_MATCHES}
core.register_action('portico_match_cn', { 'http-req' }, function(txn)
  local pattern = txn:get_var('txn.tls_cn')
  local dn = txn:get_var('txn.tls_dn')
  if pattern == nil or dn == nil then return end
  if matches(pattern, dn) then txn:set_var('txn.tls_cn_ok', true) end
end)
`;

const MODES: Record<ClientCertPolicy['verify'], string> = { on: 'on', optional: 'opt', optional_no_ca: 'nca', off: 'off', refuse: 'deny' };
// translate's grammars (auth-tls.ts) decide; render re-checks that nothing outside them reaches a map line.
const ERROR_PAGE = /^[A-Za-z0-9\-._:/]{1,2048}$/;
const MATCH_CN = /^CN=[-._~A-Za-z0-9/:&=^$[\](){}*+?|\\,]{0,1021}$/;

function checked(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing auth-tls ${what} ${JSON.stringify(value)}`);
  return value;
}

export function authTlsValue(p: ClientCertPolicy): string {
  const mode = MODES[p.verify];
  if (mode === undefined) throw new Error(`render: refusing auth-tls verify mode ${JSON.stringify(p.verify)}`);
  return `${mode}|${p.passCertificate ? 1 : 0}`;
}

const when = (mode: string): string => `{ var(txn.tls_auth) -m reg ^(${mode})\\| }`;
const USED = '{ ssl_c_used }';
const AUTH = '{ var(txn.tls_auth) -m found }';
const TEXT = 'content-type "text/plain; charset=utf-8" string';

export const AUTH_TLS_FAMILY = policyFamily<keyof typeof AUTH_TLS_MAPS>({
  maps: AUTH_TLS_MAPS,
  // An error page or a CN pattern only ever comes with the route's verification line.
  implies: { authTlsErrorPage: ['authTls'], authTlsCn: ['authTls'] },
  lua: { file: AUTH_TLS_LUA, text: LUA },
  data: (p) => {
    const c = p.clientCert;
    if (!c) return [];
    return [
      ['authTls', authTlsValue(c)],
      ...(c.errorPage !== undefined && c.verify !== 'refuse' ? [['authTlsErrorPage', checked(c.errorPage, ERROR_PAGE, 'error page')] as ['authTlsErrorPage', string]] : []),
      ...(c.matchCn !== undefined && c.verify !== 'refuse' ? [['authTlsCn', checked(c.matchCn, MATCH_CN, 'match-cn')] as ['authTlsCn', string]] : []),
    ];
  },
  rules: {
    access: (c) => [
      '# Client certificates (auth-tls-*). A client never chooses what the backend reads under these names: removed on',
      '# every request while some host verifies certificates (a backend may serve a plain host too).',
      `http-request del-header ^(${CLIENT_CERT_HEADERS.join('|')})$ -m reg`,
      `http-request set-var(txn.tls_auth) ${c.routeId},map_str(${c.file('authTls')}) if ${c.hasId}`,
      '# The CA Secret is missing or unusable: the whole host answers 403, as ingress-nginx\'s server does.',
      `http-request return status 403 ${TEXT} "403 Forbidden: this host's client certificate authority is not usable\\n" if ${when('deny')}`,
      ...(c.tls
        ? [
            '# The certificate was asked for, and verified, under the TLS server name: a request for another host on the same',
            '# connection (no SNI, or HTTP/2 connection reuse) was not verified for this one. nginx answers 421 too.',
            `http-request set-var(txn.tls_host) req.fhdr(host),lower,field(1,:),regsub(\\.$,) if ${when('on|opt|nca')}`,
            `http-request return status 421 ${TEXT} "421 Misdirected Request: the client certificate was not verified for this host\\n" if ${when('on|opt|nca')} !{ ssl_fc_sni,lower,strcmp(txn.tls_host) eq 0 }`,
          ]
        : []),
      '# nginx\'s verdicts: no certificate where one is required (its 496), or one that does not verify (495); with',
      '# optional_no_ca, failing for want of a trusted issuer only is fine.',
      `http-request set-var(txn.tls_fail) str(none) if ${when('on')} !${USED}`,
      ...['ssl_c_verify', 'ssl_c_err', 'ssl_c_ca_err'].flatMap((f) => [
        `http-request set-var(txn.tls_fail) str(bad) if ${when('on|opt')} ${USED} !{ ${f} 0 }`,
        `http-request set-var(txn.tls_fail) str(bad) if ${when('nca')} ${USED} !{ ${f} 0 ${NO_CA_ERRORS.join(' ')} }`,
      ]),
      ...(c.inUse.has('authTlsErrorPage')
        ? [
            `http-request set-var(txn.tls_error_page) ${c.routeId},map_str(${c.file('authTlsErrorPage')}) if { var(txn.tls_fail) -m found }`,
            'http-request redirect location %[var(txn.tls_error_page)] code 302 if { var(txn.tls_error_page) -m found }',
          ]
        : []),
      `http-request return status 400 ${TEXT} "400 Bad Request: No required SSL certificate was sent\\n" if { var(txn.tls_fail) -m str none }`,
      `http-request return status 400 ${TEXT} "400 Bad Request: The SSL certificate error\\n" if { var(txn.tls_fail) -m str bad }`,
      ...(c.inUse.has('authTlsCn')
        ? [
            '# auth-tls-match-cn: searched in the subject (RFC 2253, as nginx\'s $ssl_client_s_dn); no certificate never matches.',
            `http-request set-var(txn.tls_cn) ${c.routeId},map_str(${c.file('authTlsCn')}) if ${AUTH}`,
            `http-request set-var(txn.tls_dn) ssl_c_s_dn(,0,rfc2253) if { var(txn.tls_cn) -m found } ${USED}`,
            'http-request lua.portico_match_cn if { var(txn.tls_cn) -m found }',
            `http-request return status 403 ${TEXT} "403 Forbidden: client certificate unauthorized\\n" if { var(txn.tls_cn) -m found } !{ var(txn.tls_cn_ok) -m bool }`,
          ]
        : []),
    ],
    upstream: () => [
      '# What the backend learns of the client certificate, in ingress-nginx\'s headers and nginx\'s forms.',
      `http-request set-header ssl-client-verify NONE if ${AUTH} !${USED}`,
      `http-request set-header ssl-client-verify SUCCESS if ${AUTH} ${USED} { ssl_c_verify 0 }`,
      `http-request set-header ssl-client-verify FAILED:%[ssl_c_verify,lua.portico_x509_error] if ${AUTH} ${USED} !{ ssl_c_verify 0 }`,
      `http-request set-header ssl-client-subject-dn %[ssl_c_s_dn(,0,rfc2253)] if ${AUTH} ${USED}`,
      `http-request set-header ssl-client-issuer-dn %[ssl_c_i_dn(,0,rfc2253)] if ${AUTH} ${USED}`,
      `http-request set-header ssl-client-cert %[ssl_c_der,base64,lua.portico_pem_escape] if { var(txn.tls_auth) -m end |1 } ${USED}`,
    ],
  },
});
