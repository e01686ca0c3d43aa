// ingress-nginx annotations for nginx features HAProxy 2.6 (Debian's build) has no counterpart of. Some need nothing
// (a browser feature that is gone, a debug log); the others are refused with rule A6, which says what the Ingress's
// users lose, since silence would let them believe a request is throttled or inspected when it is not. Values still
// pass ingress-nginx's grammar, so that `portico check` can tell a typo from an unsupported setting.
import { annotation } from './registry.js';
import type { Annotation } from './registry.js';
import { bool, integer, quote, trimSpaces } from './values.js';
import type { ValueGrammar } from './values.js';

/** Any text, as ingress-nginx's ValidateNull (modsecurity-snippet): read only to say it is not used. */
const anyText: ValueGrammar<string> = { describe: 'any text', parse: (raw) => ({ ok: true, value: raw }) };

/** ingress-nginx's NGINXVariable grammar for modsecurity-transaction-id: an nginx variable or plain word characters. */
const nginxVariableOrWord: ValueGrammar<string> = {
  describe: 'an nginx variable or a word (letters, digits, _, -)',
  parse: (raw) => {
    const v = trimSpaces(raw);
    return /^\$?[A-Za-z0-9_-]{1,256}$/.test(v) ? { ok: true, value: v } : { ok: false, reason: `${quote(raw)} is not an nginx variable or a word` };
  },
};

/** ingress-nginx's regexOperationName: letters, digits, `_`, `-`, `$`, spaces, `/`, `.`, `:`. */
const operationName: ValueGrammar<string> = {
  describe: 'an operation name (letters, digits, spaces and _ - $ / . :)',
  parse: (raw) => (/^[A-Za-z0-9_\-$ /.:]{1,256}$/.test(raw) ? { ok: true, value: raw } : { ok: false, reason: `${quote(raw)} is not an operation name` }),
};

/**
 * An annotation Portico reads but cannot honour: `lost` says what the Ingress's users do not get, reported with A6
 * whenever the value asks for the feature (`asks`).
 */
function unsupported<T>(spec: { name: string; grammar: ValueGrammar<T>; default: string; what: string; lost: string; asks: (value: T) => boolean }): Annotation {
  return annotation({
    name: spec.name,
    scope: 'route',
    grammar: spec.grammar,
    set: () => undefined,
    notesRule: 'A6',
    notes: (x) => (spec.asks(x) ? [`${spec.name} is not supported by Portico: ${spec.lost}`] : []),
    doc: { default: spec.default, what: spec.what, differences: `not supported (warning A6 when the value asks for it): ${spec.lost}`, status: 'unsupported: warning A6' },
  });
}

const WAF =
  'requests are not inspected by a web application firewall. HAProxy 2.6 has no ModSecurity engine (it would be an external SPOE agent, which Debian does not package); put a WAF in front of Portico or beside the backend.';
const TRACING =
  "no OpenTelemetry spans are made or propagated by Portico: Debian's HAProxy 2.6 has only the OpenTracing filter, which needs a tracer plugin Debian does not ship. Trace headers the client sends (traceparent, tracestate) still reach the backend unchanged, so traces continue from the backend.";
const BANDWIDTH =
  "responses are sent as fast as the client reads them: HAProxy 2.6 cannot limit a connection's bandwidth (its bwlim filter came with 2.7). Use limit-rps or limit-connections to protect a backend's capacity.";

export const NOT_IN_HAPROXY_ANNOTATIONS = [
  unsupported({ name: 'enable-modsecurity', grammar: bool, default: 'false', what: "Runs the request through nginx's ModSecurity module.", lost: WAF, asks: (x) => x }),
  unsupported({ name: 'enable-owasp-core-rules', grammar: bool, default: 'false', what: "Loads the OWASP Core Rule Set into ModSecurity for this Ingress's paths.", lost: WAF, asks: (x) => x }),
  unsupported({ name: 'modsecurity-transaction-id', grammar: nginxVariableOrWord, default: 'none', what: "The transaction id ModSecurity logs (an nginx variable such as `$request_id`).", lost: WAF, asks: () => true }),
  unsupported({ name: 'modsecurity-snippet', grammar: anyText, default: 'none', what: 'ModSecurity rules for this Ingress\'s paths (never pasted into any configuration by Portico).', lost: WAF, asks: () => true }),
  unsupported({ name: 'enable-opentelemetry', grammar: bool, default: 'false', what: 'Makes a span for each request and sends it to the collector of the ConfigMap.', lost: TRACING, asks: (x) => x }),
  unsupported({ name: 'opentelemetry-trust-incoming-span', grammar: bool, default: 'true', what: "Whether a span continues the client's trace (traceparent).", lost: TRACING, asks: () => true }),
  unsupported({ name: 'opentelemetry-operation-name', grammar: operationName, default: 'none', what: 'The name of the spans of this Ingress\'s requests.', lost: TRACING, asks: () => true }),
  unsupported({ name: 'limit-rate', grammar: integer(0, 2 ** 31), default: '0 (no limit)', what: "The bandwidth, in kilobytes per second, at which a response is sent to the client, per connection; 0: no limit.", lost: BANDWIDTH, asks: (x) => x > 0 }),
  unsupported({ name: 'limit-rate-after', grammar: integer(0, 2 ** 31), default: '0', what: 'How many kilobytes of a response are sent at full speed before limit-rate applies.', lost: BANDWIDTH, asks: (x) => x > 0 }),
  annotation({
    name: 'http2-push-preload',
    scope: 'route',
    grammar: bool,
    set: () => undefined,
    doc: {
      default: 'false',
      what: "Pushes the resources a response's `Link: <...>; rel=preload` headers name to HTTP/2 clients.",
      noEffect:
        "HTTP/2 server push is gone from browsers (Chrome removed it in version 106, Firefox in 132) and from nginx (1.25.1 removed http2_push_preload): clients fetch the preloaded resources themselves, as they do from ingress-nginx's nginx today. The Link headers still reach the client.",
    },
  }),
  annotation({
    name: 'enable-rewrite-log',
    scope: 'route',
    grammar: bool,
    set: () => undefined,
    doc: {
      default: 'false',
      what: "Writes nginx's rewrite decisions for these paths to its error log, at notice level.",
      noEffect: 'A debugging aid for nginx\'s rewrite module, which Portico does not use: rewrites are made by HAProxy from map data, and what a request is rewritten to is the path the backend receives.',
    },
  }),
];
