// ssl-passthrough's listener: while some host passes its TLS through, the HTTPS port belongs to a TCP frontend that
// reads the ClientHello's SNI and either hands the connection, unterminated, to the host's TCP section, or to the
// TLS-terminating frontend over a unix socket, with PROXY protocol v2 so that the client's address survives the hop.
// While no host does, none of this is written and the HTTPS frontend binds the port itself, as before.
import { assertInt } from './edge.js';

/** SNI host (lowercase) -> the TCP section serving it, or REFUSED. */
export const PASSTHROUGH_MAP = 'maps/passthrough.map';
/** The map value of a passthrough host with no Service to pass to: its connections are closed. No section has this
 * name (sections start with `be_`, `spare_` or `portico_` followed by more than this). */
export const REFUSED = 'portico_refused';
/** The terminating frontend's socket in the state directory: mode 600, so only Portico's user can send it a PROXY
 * header; the HTTPS port itself never accepts one. */
export const HOP_SOCKET = 'https-in.sock';
export const SNI_FRONTEND = 'portico_https_sni';
const HOP_BACKEND = 'portico_https_hop';
const TCP_DEFAULTS = 'portico_tcp';
/** How long the SNI frontend waits for a whole ClientHello. Browsers send it in the first packet or two; a client
 * still silent after this is handed to the terminating frontend as any client without SNI, whose handshake timeout
 * then applies as before, so a slow client holds a connection at most this much longer than without passthrough. */
export const INSPECT_SECONDS = 5;

/** The bind line of the terminating frontend while the SNI frontend holds the HTTPS port: the hop's socket. */
export function hopBind(stateDir: string, tlsOptions: string): string {
  return `bind unix@${stateDir}/${HOP_SOCKET} mode 600 accept-proxy${tlsOptions}`;
}

export interface PassthroughListener {
  /** The HTTPS port's bind lines, without TLS options. */
  binds: string[];
  /** The edge's per-client connection rules (edge.ts), which must see the real client address at accept. */
  connectionRules: string[];
  stateDir: string;
  mapFile: string;
  timeouts: { connect: number; client: number; server: number; tunnel: number };
}

/**
 * The defaults every TCP section follows (the SNI frontend, the hop, the passthrough sections and their spares),
 * and the SNI frontend and the hop. A passthrough connection is a tunnel once the ClientHello went through, so
 * `timeout tunnel` (as for WebSockets) bounds its idle time.
 */
export function passthroughSections(l: PassthroughListener): string[] {
  const t = {
    connect: assertInt(l.timeouts.connect, 'timeout connect', 1),
    client: assertInt(l.timeouts.client, 'timeout client', 1),
    server: assertInt(l.timeouts.server, 'timeout server', 1),
    tunnel: assertInt(l.timeouts.tunnel, 'timeout tunnel', 1),
  };
  const sni = 'req.ssl_sni,lower';
  return [
    [
      `defaults ${TCP_DEFAULTS}`,
      '  mode tcp',
      '  log global',
      `  timeout connect ${t.connect}s`,
      `  timeout client ${t.client}s`,
      `  timeout server ${t.server}s`,
      `  timeout tunnel ${t.tunnel}s`,
    ].join('\n'),
    [
      `frontend ${SNI_FRONTEND}`,
      ...l.binds.map((b) => `  ${b}`),
      ...l.connectionRules.map((r) => `  ${r}`),
      `  tcp-request inspect-delay ${INSPECT_SECONDS}s`,
      // The rule waits (up to the inspect delay) until a whole ClientHello is buffered, however many packets it took;
      // a first packet that is not a TLS handshake decides at once, and such a connection goes on to the terminating
      // frontend as before. The SNI only ever keys a lookup: an odd one matches nothing.
      `  tcp-request content set-var(txn.passthrough) ${sni},map_str(${l.mapFile}) if { req.ssl_hello_type 1 }`,
      `  tcp-request content reject if { var(txn.passthrough) -m str ${REFUSED} }`,
      '  use_backend %[var(txn.passthrough)] if { var(txn.passthrough) -m found }',
      `  default_backend ${HOP_BACKEND}`,
    ].join('\n'),
    [`backend ${HOP_BACKEND}`, `  server https unix@${l.stateDir}/${HOP_SOCKET} send-proxy-v2`].join('\n'),
  ];
}

/** TCP spares a configuration carries, so that a new passthrough Service takes no reload: none until some backend
 * passes TLS through (the first one comes with the SNI frontend's reload), then two, or one per ten such backends. */
export function tcpSpareCount(passthroughBackends: number): number {
  return passthroughBackends === 0 ? 0 : Math.max(2, Math.ceil(passthroughBackends / 10));
}
