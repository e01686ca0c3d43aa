import type { TranslateResult } from './types.js';

/** JSON for people and golden files: certificates by fingerprint, never their key material. */
export function serializeResult(r: TranslateResult): string {
  const model = { ...r.model, certificates: r.model.certificates.map(({ pem: _pem, ...rest }) => rest) };
  return `${JSON.stringify({ model, diagnostics: r.diagnostics }, null, 2)}\n`;
}
