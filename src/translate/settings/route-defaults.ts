// ConfigMap keys that are the defaults of route annotations of the same names: ingress-nginx's annotation parsers
// read `GetDefaultBackend().X` (the ConfigMap's value) when an Ingress leaves the annotation unset, and so does
// Portico. Each key is read with its annotation's own registry entry (annotations/), so the two share grammar,
// meaning and docs and cannot drift apart. The value travels in GlobalSettings.annotationDefaults as written and is
// merged under each Ingress's own annotations when routes are built: route policies (map updates), never the
// configuration text. Keys ingress-nginx reads but no parser or template uses (app-root, upstream-hash-by) are
// accepted with nothing to do, as there.
import type { RouteSettings } from '../../model/settings-route-keys.js';
import { ANNOTATIONS } from '../annotations/index.js';
import type { Annotation, AnnotationValues } from '../annotations/registry.js';
import { bool, quote, trimSpaces } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';
import { UNSUPPORTED } from './not-in-haproxy.js';
import type { Setting, SettingDoc } from './registry.js';

function annotationNamed(name: string): Annotation {
  const a = ANNOTATIONS.find((x) => x.name === name);
  if (!a) throw new Error(`settings: no annotation ${name}`);
  return a;
}

/** A key read with the annotation of the same name's grammar; `store`: it becomes that annotation's default. */
function annotationTwin(name: string, o: { store: boolean; doc: (a: Annotation) => SettingDoc; notes?: (a: Annotation, raw: string) => string[] }): Setting {
  const a = annotationNamed(name);
  return {
    key: name,
    describe: a.describe,
    doc: o.doc(a),
    apply: (settings, raw) => {
      // Empty means unset, as it does for the annotation (and as ingress-nginx decodes "" into a zero value).
      if (raw === '') return { notes: [], invalid: [] };
      const result = a.apply({}, raw);
      if ('reason' in result) return result;
      if (o.store) settings.annotationDefaults = { ...settings.annotationDefaults, [name]: raw };
      return { notes: [...result.notes, ...(o.notes?.(a, raw) ?? [])], invalid: [] };
    },
  };
}

/** An annotation's docs text as the ConfigMap's: its findings there are G1 (a bad value) and G4 (not honoured). */
const asSetting = (text: string): string => text.replace(/warning A6/g, 'G4').replace(/\bA6\b/g, 'G4').replace(/\bA1\b/g, 'G1');

/** The default of an annotation Portico honours: an Ingress without it gets the ConfigMap's value. */
const routeDefault = (name: string, extra?: string): Setting =>
  annotationTwin(name, {
    store: true,
    doc: (a) => ({
      default: a.doc.default,
      what: `The default of the \`${name}\` annotation for every Ingress that does not set it (its own value wins, as in ingress-nginx): ${a.doc.what}`,
      ...(a.doc.differences !== undefined || extra !== undefined ? { differences: asSetting([a.doc.differences, extra].filter((d) => d !== undefined).join(' ')) } : {}),
      live: 'routes',
    }),
  });

/** The default of an annotation that needs nothing done in HAProxy: the annotation's own reason. */
const noEffectDefault = (name: string): Setting =>
  annotationTwin(name, {
    store: false,
    doc: (a) => ({ default: a.doc.default, what: `The default of the \`${name}\` annotation: ${a.doc.what}`, noEffect: a.doc.noEffect ?? '', live: 'none' }),
  });

/** The default of an annotation HAProxy 2.6 cannot honour: the annotation's own notes (A6) become G4. */
const unsupportedDefault = (name: string): Setting =>
  annotationTwin(name, {
    store: false,
    doc: (a) => ({ default: a.doc.default, what: `The default of the \`${name}\` annotation: ${a.doc.what}`, differences: asSetting(a.doc.differences ?? ''), live: 'none', status: UNSUPPORTED }),
  });

const UNUSED_BY_INGRESS_NGINX = (name: string): string =>
  `ingress-nginx reads this key into its defaults, but neither its \`${name}\` annotation parser nor its template uses it, so the key changes nothing there; Portico keeps it so (use the annotation on each Ingress).`;

/** A key of ingress-nginx's defaults that nothing in ingress-nginx uses: accepted, nothing done, as there. */
const unusedDefault = (name: string): Setting =>
  annotationTwin(name, {
    store: false,
    doc: (a) => ({ default: a.doc.default, what: `Meant as the default of the \`${name}\` annotation.`, noEffect: UNUSED_BY_INGRESS_NGINX(name), live: 'none' }),
  });

/** nginx's location list of no-tls-redirect-locations: comma-separated path prefixes. */
const pathPrefixes: ValueGrammar<string[]> = {
  describe: 'paths starting with / (letters, digits and - . _ ~ / % ), separated by commas',
  parse: (raw) => {
    const items = raw.split(',').map(trimSpaces).filter((p) => p !== '');
    if (items.length > 64) return { ok: false, reason: `${quote(raw)} lists more than 64 paths` };
    const bad = items.find((p) => !/^\/[A-Za-z0-9\-._~/%]{0,255}$/.test(p));
    return bad === undefined ? { ok: true, value: items } : { ok: false, reason: `${quote(raw)}: ${quote(bad)} is not a path (/, then letters, digits and - . _ ~ / %)` };
  },
};

/** global-allowed-response-headers: header names separated by commas, as ingress-nginx's ValidHeader takes them. */
const headerNames: ValueGrammar<string[]> = {
  describe: 'header names (letters, digits, - and _) separated by commas',
  parse: (raw) => {
    const items = raw.split(',').map(trimSpaces).filter((h) => h !== '');
    if (items.length > 256) return { ok: false, reason: `${quote(raw)} lists more than 256 names` };
    const bad = items.find((h) => !/^[A-Za-z0-9_-]{1,256}$/.test(h));
    return bad === undefined ? { ok: true, value: [...new Set(items.map((h) => h.toLowerCase()))].sort() } : { ok: false, reason: `${quote(raw)}: ${quote(bad)} is not a header name (letters, digits, - and _)` };
  },
};

export const ROUTE_DEFAULT_SETTINGS: readonly Setting[] = [
  routeDefault('proxy-next-upstream'),
  routeDefault('proxy-next-upstream-tries'),
  routeDefault('proxy-next-upstream-timeout'),
  routeDefault('service-upstream'),
  routeDefault('preserve-trailing-slash'),
  routeDefault('use-port-in-redirects'),
  routeDefault('relative-redirects', "ingress-nginx's key sets `absolute_redirect off` for every location, which changes only the Locations nginx completes itself; Portico's annotation applies where nginx's would matter (a Location proxy-redirect made relative)."),
  routeDefault('proxy-redirect-from'),
  routeDefault('proxy-redirect-to'),
  routeDefault('proxy-cookie-domain'),
  routeDefault('proxy-cookie-path'),
  noEffectDefault('proxy-buffering'),
  noEffectDefault('proxy-request-buffering'),
  noEffectDefault('proxy-buffer-size'),
  noEffectDefault('proxy-buffers-number'),
  noEffectDefault('proxy-busy-buffers-size'),
  noEffectDefault('proxy-max-temp-file-size'),
  noEffectDefault('proxy-http-version'),
  noEffectDefault('client-body-buffer-size'),
  unsupportedDefault('limit-rate'),
  unsupportedDefault('limit-rate-after'),
  unusedDefault('app-root'),
  unusedDefault('upstream-hash-by'),
  unusedDefault('upstream-hash-by-subset'),
  unusedDefault('upstream-hash-by-subset-size'),
  annotationTwin('custom-http-errors', {
    store: false,
    notes: (a, raw) => {
      const probe: AnnotationValues = {};
      a.apply(probe, raw);
      return (probe.customHttpErrors ?? []).length > 0
        ? ['responses with these statuses reach the client unchanged: Portico has no controller-wide default backend (ingress-nginx\'s --default-backend-service) to replace them with; the custom-http-errors annotation with default-backend does it per Ingress']
        : [];
    },
    doc: () => ({
      default: 'none',
      what: "ingress-nginx sends responses with these statuses, of every backend, to its controller-wide default backend (--default-backend-service, or its built-in 404 page).",
      differences: 'not served (G4 for a non-empty list): Portico has no controller-wide default backend, so the statuses reach the client unchanged; the custom-http-errors annotation with the default-backend annotation replaces them per Ingress.',
      live: 'none',
      status: UNSUPPORTED,
    }),
  }),
  annotationTwin('disable-proxy-intercept-errors', {
    store: false,
    doc: () => ({
      default: 'false',
      what: "ingress-nginx's http-level `proxy_intercept_errors` switch for the ConfigMap's custom-http-errors.",
      noEffect: "it only undoes the ConfigMap's custom-http-errors, which Portico does not serve (the row above); the annotation of the same name works per Ingress.",
      live: 'none',
    }),
  }),
  setting({
    key: 'retry-non-idempotent',
    grammar: bool,
    set: (s, b) => {
      if (b) s.retryNonIdempotent = true;
    },
    doc: {
      default: 'false',
      what:
        "`true`: every route's proxy-next-upstream gets `non_idempotent` (the default `error timeout` when its Ingress sets none), so POST, LOCK and PATCH requests are retried on another server as others are (ingress-nginx's buildNextUpstream). Every Service port then gets a backend section with those retries (`..._retry<id>`, the proxy-next-upstream annotation's row), which takes one reload.",
      live: 'routes',
    },
  }),
  setting({
    key: 'no-tls-redirect-locations',
    grammar: pathPrefixes,
    set: (s, p) => (s.noTlsRedirectLocations = p),
    doc: {
      default: "none: requests for `/.well-known/acme-challenge/...` are never redirected (ingress-nginx: the Ingress paths `/.well-known/acme-challenge...`)",
      what: "Ingress paths that begin with one of these prefixes are never redirected to HTTPS (rule T9, ssl-redirect, force-ssl-redirect), as ingress-nginx's `force_no_ssl_redirect`: the prefix is compared with the path as the Ingress writes it, not with the request's path. An empty list redirects every path.",
      differences: 'Portico also never redirects a request whose own path begins with `/.well-known/acme-challenge/`, whatever this key says, so that ACME HTTP-01 challenges pass on hosts with a tls block.',
      live: 'routes',
    },
  }),
  setting({
    key: 'global-allowed-response-headers',
    grammar: headerNames,
    set: (s, h) => (s.allowedResponseHeaders = h),
    doc: {
      default: 'unset: every name the snippet annotations may set',
      what: "The only header names a custom-headers annotation's ConfigMap may set: a route whose ConfigMap holds another name answers every request with 503 (ingress-nginx denies the location), with a finding on the Ingress that names the header. Names compare without case.",
      differences: "with the key unset, ingress-nginx (1.12 and later) denies every custom-headers Ingress; Portico allows every name the snippet annotations may set (configuration-snippet's more_set_headers already gives the same authors those names), so that Ingresses keep working until an operator lists the names. An empty value denies every custom-headers Ingress, as ingress-nginx's default does. ingress-nginx compares names with their case.",
      live: 'routes',
    },
  }),
];

/** The annotation defaults of the settings as typed values, or undefined when the ConfigMap sets none. */
export function annotationDefaultsOf(g: RouteSettings | undefined): AnnotationValues | undefined {
  const raw = g?.annotationDefaults;
  if (raw === undefined) return undefined;
  const values: AnnotationValues = {};
  for (const a of ANNOTATIONS) {
    const v = raw[a.name];
    if (v !== undefined) a.apply(values, v);
  }
  return Object.freeze(values);
}
