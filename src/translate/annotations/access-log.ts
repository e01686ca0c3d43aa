// enable-access-log: whether an Ingress's requests reach the access log. The decision is Portico's (a flag of the
// route's value, which HAProxy's log line carries), not HAProxy's: HAProxy reports every request, so the request
// metrics built from the records still count these, as ingress-nginx's metrics count requests whose location has
// `access_log off`.
import { annotation } from './registry.js';
import { bool } from './values.js';

export const ACCESS_LOG_ANNOTATIONS = [
  annotation({
    name: 'enable-access-log',
    scope: 'route',
    grammar: bool,
    set: (v, x) => (v.enableAccessLog = x),
    doc: {
      default: 'true',
      what: '`"false"`: requests to these paths write no access log line (Portico\'s `--access-log`). Live: a changed value is a map update of the route\'s value, never a reload.',
      differences:
        "HAProxy still reports these requests to Portico, which leaves them out of the access log only: the request records other parts of Portico read (metrics) keep them, as ingress-nginx's metrics count requests of a location with `access_log off`.",
    },
  }),
];
