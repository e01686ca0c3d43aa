// Timeouts towards the backend: proxy-read-timeout and proxy-send-timeout, per route, as ingress-nginx sets them
// per location (whole seconds). HAProxy has one inactivity timeout for both directions towards a server (and one for
// a tunnel, a WebSocket after its upgrade), so the two become one value: the larger of those set.
import type { RoutePolicy } from '../../model/types.js';
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { integer } from './values.js';

/** Whole seconds, up to HAProxy's largest timeout (2^31 - 1 ms). */
const SECONDS = integer(1, 2_147_483);
const ONE_TIMER =
  'HAProxy waits with one inactivity timer for both directions: with both annotations set, the larger applies to reading and sending alike; it also applies to a WebSocket after its upgrade (`timeout tunnel`), as nginx applies its timeouts to one. Zero and negative numbers are refused (A1); nginx would take them.';

export const TIMEOUT_ANNOTATIONS = [
  annotation({
    name: 'proxy-read-timeout',
    scope: 'route',
    grammar: SECONDS,
    set: (v, x) => (v.proxyReadTimeout = x),
    doc: {
      default: 'the server timeout (`--upstream-read-timeout`, 60 s)',
      what: 'Seconds HAProxy waits for the backend to send the next part of its answer before answering 504. Live: a changed value is a map update.',
      differences: ONE_TIMER,
    },
  }),
  annotation({
    name: 'proxy-send-timeout',
    scope: 'route',
    grammar: SECONDS,
    set: (v, x) => (v.proxySendTimeout = x),
    doc: {
      default: 'the server timeout (`--upstream-read-timeout`, 60 s)',
      what: 'Seconds HAProxy waits for the backend to take the next part of the request. Live: a changed value is a map update.',
      differences: ONE_TIMER,
    },
  }),
];

/** The route's server (and tunnel) timeout in seconds, when an annotation sets one. */
export function serverTimeoutOf(v: AnnotationValues): RoutePolicy['serverTimeoutSeconds'] {
  const set = [v.proxyReadTimeout, v.proxySendTimeout].filter((s): s is number => s !== undefined);
  return set.length > 0 ? Math.max(...set) : undefined;
}
