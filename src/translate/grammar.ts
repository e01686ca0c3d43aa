// The grammars Kubernetes validates names with (apimachinery pkg/util/validation). Every string that ends up in
// HAProxy's configuration, maps or file names has passed one of these first: they admit no whitespace, quote,
// `#`, `%`, `\` or control character, which is what keeps Ingress authors out of the configuration language.
import { isIP } from 'node:net';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[-a-z0-9]+$/;
const IANA_HAS_LETTER = /[a-z]/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

export function isWildcardDns1123Subdomain(s: string): boolean {
  return s.startsWith('*.') && isDns1123Subdomain(s.slice(2)) && s.length <= 253;
}

export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS1035_LABEL.test(s);
}

/** IsValidPortName: an IANA service name. */
export function isIanaServiceName(s: string): boolean {
  return (
    s.length >= 1 &&
    s.length <= 15 &&
    IANA_SVC_NAME.test(s) &&
    IANA_HAS_LETTER.test(s) &&
    !s.startsWith('-') &&
    !s.endsWith('-') &&
    !s.includes('--')
  );
}

export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0;
}

/** IsQualifiedName: `[prefix/]name`, used for IngressClass controller names and label keys. */
export function isDomainPrefixedPath(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash <= 0 || s.length > 250) return false;
  const domain = s.slice(0, slash);
  const path = s.slice(slash + 1);
  return isDns1123Subdomain(domain) && path.length > 0 && /^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(path);
}

const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** IsQualifiedName: `[prefix/]name`, the grammar of label and annotation keys (`kubernetes.io/ingress.class`). */
export function isQualifiedName(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts.pop()!;
  const prefix = parts[0];
  return QUALIFIED_NAME_PART.test(name) && (prefix === undefined || isDns1123Subdomain(prefix));
}

/** Path segment names (IsValidPathSegmentName): used for resource backend kind/name. */
export function isPathSegmentName(s: string): boolean {
  return s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('%');
}
