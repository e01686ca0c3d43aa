// ssl-passthrough: a host's TLS connections handed whole to its Service, chosen by the ClientHello's SNI, beside the
// hosts whose TLS Portico terminates on the same port. What decides the host's backend is in routes.ts
// (`passthroughOf`); what HAProxy does with it in src/haproxy/render/passthrough.ts.
import { annotation } from './registry.js';
import { bool } from './values.js';

export const PASSTHROUGH_ANNOTATIONS = [
  annotation({
    name: 'ssl-passthrough',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.sslPassthrough = x),
    doc: {
      default: '`false`',
      what:
        "With `true`, TLS connections on the HTTPS port whose SNI is one of the Ingress's hosts are not terminated: the raw bytes go to the Service of the host's `/` path (any Ingress's on the host; else the host's `spec.defaultBackend`), which presents its own certificate, while every other host keeps Portico's TLS on the same port. Any Ingress of the host asking for it makes the whole host passthrough, as in ingress-nginx. The host name must match the SNI exactly, letter case aside. Other paths of the host, and the Ingress's other annotations, do nothing over HTTPS (layer 4). A ClientHello without SNI, or a first packet that is not TLS, is terminated as before. On the HTTP port the host is served as before (the redirect to HTTPS of a host in a tls block included), and its routes to the passthrough Service port speak HTTPS to it (`backend-protocol: HTTPS`, nothing verified), as nginx does for a passthrough upstream. Nothing to enable: the SNI-reading listener exists only while some host uses passthrough (the first such Ingress, and the last one leaving, take one reload each); a host added, removed or moved to another Service, and endpoints coming and going, are runtime updates, and open passthrough connections are not cut by them.",
      differences:
        "no `--enable-ssl-passthrough` flag is needed. Connections go to the Service's ready endpoints, round robin per connection, as Portico's HTTP backends do (ingress-nginx dials the Service's cluster IP, which Portico does with `service-upstream: true`). The SNI is compared without regard to letter case (ingress-nginx compares it as sent). A host with no `/` path and no default backend refuses the SNI's connections at once (ingress-nginx's dial fails, with the same effect) and gets a warning. A wildcard host (`*.example.com`) is not passed through (ingress-nginx's exact comparison never matches one either), with a warning; nor is a `server-alias` name (ingress-nginx's proxy reads only the host). The backend sees Portico's address, not the client's (no PROXY protocol to the backend, as in ingress-nginx); terminated connections keep the client's address through Portico's internal hop (PROXY protocol v2 over a unix socket only Portico can reach). Only the passthrough host's routes to that Service port speak HTTPS on the HTTP port (ingress-nginx switches every location using that upstream, on any host); a `backend-protocol` already set on them is kept. The ClientHello is waited for at most 5 s, then the connection is terminated as any other (ingress-nginx waits for it without limit). While some host passes through, each terminated TLS connection holds two of `--max-connections` (the client's and Portico's internal hop).",
    },
  }),
];
