// Buffers: nginx's knobs for how much of a request or response it holds in memory or on disk before passing it on.
// HAProxy has no such per-route knobs and needs none: it passes bodies on as they arrive through fixed 16 kB buffers
// and never spills to disk, so these annotations are read (a bad value is still reported, A1) and nothing is done.
// Each row in docs/annotations.md says what a client may notice.
import { annotation } from './registry.js';
import type { AnnotationSpec } from './registry.js';
import { integer, oneOf, size } from './values.js';

const SIZE = size(2 ** 40);
const ON_OFF = oneOf(['on', 'off']);

/** An annotation read for its grammar only. */
function accepted<T>(spec: Omit<AnnotationSpec<T>, 'set' | 'scope'> & { doc: { noEffect: string } }): ReturnType<typeof annotation> {
  return annotation({ ...spec, scope: 'route', set: () => undefined });
}

export const BUFFER_ANNOTATIONS = [
  accepted({
    name: 'proxy-buffering',
    grammar: ON_OFF,
    doc: {
      default: 'off',
      what: "Whether nginx reads the backend's whole response before sending it (`on`).",
      noEffect:
        "HAProxy passes responses on as they arrive, which is what `off` (ingress-nginx's default) does. With `on`, nginx would free a slow client's backend connection sooner by buffering the response (to disk if need be); HAProxy keeps the backend connection until the client has read all but its last 16 kB.",
    },
  }),
  accepted({
    name: 'proxy-buffer-size',
    grammar: SIZE,
    doc: {
      default: '4k',
      what: "The buffer nginx reads the backend's response headers into; larger headers fail with 502 unless it is raised.",
      noEffect: "HAProxy reads response headers into its 16 kB buffer (tune.bufsize): headers up to about 15 kB pass without a setting, and larger ones fail with 502, as in nginx with a buffer that size.",
    },
  }),
  accepted({
    name: 'proxy-buffers-number',
    grammar: integer(1, 1_000_000),
    doc: { default: '4', what: "How many buffers nginx holds a response's body in.", noEffect: 'HAProxy streams bodies through fixed buffers and holds no more per request.' },
  }),
  accepted({
    name: 'proxy-busy-buffers-size',
    grammar: SIZE,
    doc: { default: 'nginx\'s (2 buffers)', what: 'How much of a response nginx may be sending to the client while it is still reading it.', noEffect: 'HAProxy streams bodies through fixed buffers; there is nothing to size.' },
  }),
  accepted({
    name: 'proxy-max-temp-file-size',
    grammar: SIZE,
    doc: { default: '1024m', what: 'How much of a response nginx may spill to a temporary file.', noEffect: 'HAProxy never writes bodies to disk.' },
  }),
  accepted({
    name: 'client-body-buffer-size',
    grammar: SIZE,
    doc: { default: '8k', what: "How much of a request's body nginx holds in memory before writing it to a temporary file.", noEffect: 'HAProxy never writes bodies to disk; it holds at most its 16 kB buffer of a body in memory.' },
  }),
  accepted({
    name: 'proxy-request-buffering',
    grammar: ON_OFF,
    doc: {
      default: 'on',
      what: "Whether nginx reads a request's whole body before sending the request to the backend.",
      noEffect:
        'HAProxy sends a request on as soon as its headers (and, for a body of known length, the first 16 kB of it) have arrived, as `off` does; the body follows as it streams in. With `on` (ingress-nginx\'s default) a backend never sees a request whose body the client is still sending; with Portico it may (a slow upload holds a backend connection), and the body limit of `proxy-body-size` still applies as the body streams.',
    },
  }),
  accepted({
    name: 'proxy-http-version',
    grammar: oneOf(['1.0', '1.1']),
    doc: {
      default: '1.1',
      what: 'The HTTP version nginx speaks to the backend.',
      noEffect: 'HAProxy speaks HTTP/1.1 to backends (or HTTP/2 with backend-protocol GRPC, GRPCS or H2C). With `1.0` nginx would send HTTP/1.0 requests and close the connection after each; Portico still sends HTTP/1.1 and keeps connections alive.',
    },
  }),
];
