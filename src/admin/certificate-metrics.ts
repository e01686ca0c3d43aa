// Certificate expiry per TLS Secret and host, from the live model: Portico's series and ingress-nginx's
// `nginx_ingress_controller_ssl_expire_time_seconds` (one series per host a certificate is served for, as there).
import { X509Certificate } from 'node:crypto';
import type { Certificate, RoutingModel } from '../model/types.js';
import type { Metrics } from './metrics.js';

export class CertificateMetrics {
  private last: { certificates: RoutingModel['certificates']; sni: RoutingModel['sni']; defaultCertificate: string | undefined } | undefined;
  private readonly identifiers = new Map<string, string>();

  constructor(private readonly metrics: Metrics) {}

  /** Called with every model that goes live; does nothing unless its certificates or their hosts changed. */
  update(model: RoutingModel): void {
    const l = this.last;
    if (l && l.certificates === model.certificates && l.sni === model.sni && l.defaultCertificate === model.defaultCertificate) return;
    this.last = { certificates: model.certificates, sni: model.sni, defaultCertificate: model.defaultCertificate };
    const byId = new Map(model.certificates.map((c) => [c.id, c]));
    const portico = this.metrics.certificateExpiry;
    const nginx = this.metrics.nginxSslExpire;
    portico.reset();
    nginx.reset();
    const hosted = new Set<string>();
    const cls = this.metrics.identity.controllerClass;
    for (const b of model.sni) {
      const c = byId.get(b.certificate);
      if (!c) continue;
      hosted.add(c.id);
      const [namespace, secret] = splitSecret(c);
      const expiry = Math.floor(Date.parse(c.notAfter) / 1000);
      portico.set({ namespace, secret, host: b.host }, expiry);
      nginx.set({ namespace, class: cls, host: b.host, secret_name: secret, identifier: this.identifier(c) }, expiry);
    }
    // --default-ssl-certificate's Secret, when no host names it: its expiry matters all the same (ingress-nginx has no
    // series for it, having no host to put in the label).
    const d = model.defaultCertificate === undefined ? undefined : byId.get(model.defaultCertificate);
    if (d && !hosted.has(d.id)) {
      const [namespace, secret] = splitSecret(d);
      portico.set({ namespace, secret, host: '' }, Math.floor(Date.parse(d.notAfter) / 1000));
    }
    for (const id of this.identifiers.keys()) if (!byId.has(id)) this.identifiers.delete(id);
  }

  /** ingress-nginx's `identifier`: the issuer's serialNumber attribute (usually empty), `-`, the serial in decimal. */
  private identifier(c: Certificate): string {
    const key = `${c.id}\u0000${c.sha256}`;
    const known = this.identifiers.get(c.id);
    if (known?.startsWith(`${key}\u0000`)) return known.slice(key.length + 1);
    let id = '';
    try {
      const x = new X509Certificate(c.pem);
      const issuerSerial = /^serialNumber=(.*)$/m.exec(x.issuer)?.[1] ?? '';
      id = `${issuerSerial}-${BigInt(`0x${x.serialNumber}`).toString(10)}`;
    } catch {
      // The model's PEM was parsed by translate already; should it fail here, the series carries no identifier.
    }
    this.identifiers.set(c.id, `${key}\u0000${id}`);
    return id;
  }
}

function splitSecret(c: Certificate): [string, string] {
  const at = c.secret.indexOf('/');
  return [c.secret.slice(0, at), c.secret.slice(at + 1)];
}
