import type { TranslateResult } from './types.js';

/** JSON for people and golden files: certificates by fingerprint, never their key material. */
export function serializeResult(r: TranslateResult): string {
  const model = {
    ...r.model,
    certificates: r.model.certificates.map(({ pem: _pem, ...rest }) => rest),
    // A host's client CA by Secret and fingerprint, as certificates are.
    hostGroups: r.model.hostGroups.map((g) => (g.clientAuth ? { ...g, clientAuth: { ca: { id: g.clientAuth.ca.id, secret: g.clientAuth.ca.secret, crl: g.clientAuth.ca.crl !== undefined, sha256: g.clientAuth.ca.sha256 }, depth: g.clientAuth.depth } } : g)),
  };
  return `${JSON.stringify({ model, diagnostics: r.diagnostics }, null, 2)}\n`;
}
