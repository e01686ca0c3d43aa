// Rules tls-expired and tls-not-yet-valid. An expired (or not yet valid) certificate is still served, as
// ingress-nginx and HAProxy do: refusing it would change nothing for clients (they refuse it either way) and would
// only move the host to the default certificate. The owner is told instead. translate has no clock, so this is a
// separate pure function of the model's certificates and a time, called where diagnostics are reported.
import type { Certificate, Diagnostic } from '../model/types.js';
import { objectRef } from './diagnostics.js';

export function validityDiagnostics(certificates: readonly Certificate[], nowMs: number): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of certificates) {
    const notBefore = Date.parse(c.notBefore);
    const notAfter = Date.parse(c.notAfter);
    const [namespace, name] = c.secret.split('/');
    const object = objectRef('Secret', { namespace, name });
    if (nowMs > notAfter)
      out.push({ level: 'warning', object, field: 'data[tls.crt]', rule: 'tls-expired', message: `the certificate expired at ${c.notAfter} (notAfter); it is still served, and clients that check dates refuse it` });
    else if (nowMs < notBefore)
      out.push({ level: 'warning', object, field: 'data[tls.crt]', rule: 'tls-not-yet-valid', message: `the certificate is not valid before ${c.notBefore} (notBefore); it is already served, and clients that check dates refuse it until then` });
  }
  return out;
}
