// Redirects: rule T9's HTTP to HTTPS redirect, per Ingress. (The other redirect annotations join this family.)
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { bool } from './values.js';

export const REDIRECT_ANNOTATIONS = [
  annotation({
    name: 'ssl-redirect',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.sslRedirect = x),
    doc: {
      default: '`true` (`--ssl-redirect`)',
      what: 'With `false`, plain-HTTP requests to this Ingress\'s paths on a TLS host are served instead of redirected with 308 to HTTPS (rule T9).',
    },
  }),
  annotation({
    name: 'force-ssl-redirect',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.forceSslRedirect = x),
    doc: {
      default: '`false`',
      what: 'With `true`, plain-HTTP requests to this Ingress\'s paths are redirected with 308 to HTTPS even when the host has no TLS block (for TLS terminated in front of Portico).',
    },
  }),
];

/**
 * Rule T9 for the routes of one Ingress on one host: `force-ssl-redirect` redirects even a host without TLS, as in
 * ingress-nginx; otherwise a TLS host redirects unless `ssl-redirect` (else the global setting) turns it off.
 */
export function redirectsToHttps(v: AnnotationValues, tlsHost: boolean, globalSslRedirect: boolean): boolean {
  if (v.forceSslRedirect === true) return true;
  return tlsHost && (v.sslRedirect ?? globalSslRedirect);
}
