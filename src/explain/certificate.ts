// Which certificate the HTTPS listener offers for a server name: the crt-list lines (RoutingModel.sni, where
// translate already resolved rule T4's steps 1-3 per name), exact names before wildcards as HAProxy picks them,
// else the default certificate (step 4).
import { DEFAULT_CERTIFICATE_ID } from '../model/types.js';
import type { RouteIndex } from './route-index.js';

export interface CertificateChoice {
  sni: string;
  /** Certificate id, or `default`. */
  certificate: string;
  /** The Secret (`namespace/name`); absent for the generated default certificate. */
  secret?: string;
  /** T4.1-3: a crt-list line for the name (exact, or a wildcard by one label); T4.4/T11: the default. */
  rule: 'T4.1-3 exact' | 'T4.2 wildcard' | 'T4.4' | 'T11';
  dnsNames?: string[];
  notAfter?: string;
  /** The host's TLS connections are passed through to a backend (ssl-passthrough), never terminated here. */
  passthrough?: string;
  /** The handshake asks for a client certificate of this CA (auth-tls). */
  clientCa?: string;
}

export function certificateFor(ix: RouteIndex, rawSni: string): CertificateChoice {
  const sni = rawSni.toLowerCase().replace(/\.$/, '');
  const passthrough = ix.hosts.get(sni)?.group.passthrough;
  const extra = passthrough !== undefined ? { passthrough: passthrough === '' ? '(refused: no backend could be chosen)' : passthrough } : {};
  if (sni === '') return { sni, ...defaultOf(ix), rule: 'T11', ...extra };
  const exact = ix.sni.get(sni);
  const wildcard = exact ? undefined : /^[^.]+\./.test(sni) ? ix.sni.get(sni.replace(/^[^.]+\./, '*.')) : undefined;
  const line = exact ?? wildcard;
  if (!line || line.certificate === DEFAULT_CERTIFICATE_ID) return { sni, ...defaultOf(ix), rule: 'T4.4', ...extra, ...(line?.clientAuth ? { clientCa: line.clientAuth.ca } : {}) };
  const c = ix.certificates.get(line.certificate);
  return {
    sni,
    certificate: line.certificate,
    rule: exact ? 'T4.1-3 exact' : 'T4.2 wildcard',
    ...(c ? { secret: c.secret, dnsNames: c.dnsNames, notAfter: c.notAfter } : {}),
    ...extra,
    ...(line.clientAuth ? { clientCa: line.clientAuth.ca } : {}),
  };
}

function defaultOf(ix: RouteIndex): { certificate: string; secret?: string; dnsNames?: string[]; notAfter?: string } {
  const id = ix.model.defaultCertificate;
  const c = id === undefined ? undefined : ix.certificates.get(id);
  return c ? { certificate: c.id, secret: c.secret, dnsNames: c.dnsNames, notAfter: c.notAfter } : { certificate: DEFAULT_CERTIFICATE_ID };
}
