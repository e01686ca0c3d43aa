// HAProxy's section and server names, translated back to Kubernetes names. A backend section is named after its
// backend (`be_<ns>_<svc>_<port>...`) or is a spare (`spare_3`) that the runtime API bound to a Service after the last
// reload; a server is named after its endpoint's address and port (`ep_10_0_0_1_8080`), a lone endpoint twice. None
// of these names may reach a metric or a log line: a dashboard asks about Services and endpoints, and a spare serves
// another Service after every reload.
import type { Backend } from '../model/types.js';
import { dialledServers } from '../haproxy/render/render.js';
import type { RuntimeState } from '../haproxy/runtime/plan.js';

export interface ServiceName {
  namespace: string;
  service: string;
  /** The Service port as the Ingress names it (number or name); `0` is the Service's first port (default-backend). */
  port: string;
}

export interface EndpointName extends ServiceName {
  /** `address:port` the endpoint is dialled at (an ExternalName Service's `host:port`). */
  endpoint: string;
}

interface Section {
  service: ServiceName;
  servers: ReadonlyMap<string, EndpointName>;
}

/** One live configuration's sections by name, built once per RuntimeState (a reload or a runtime change). */
export class SectionNames {
  private constructor(private readonly sections: ReadonlyMap<string, Section>) {}

  /** Sections of `state`: those named after a backend and the spares bound to one. Unbound spares and Portico's own
   * sections (the gate, the default answers) are absent: they serve no Service. */
  static of(state: RuntimeState): SectionNames {
    const sections = new Map<string, Section>();
    const byName = new Map(state.model.backends.map((b) => [b.name, b]));
    const add = (section: string, b: Backend | undefined): void => {
      if (b) sections.set(section, sectionOf(b));
    };
    for (const name of state.layout.named.keys()) add(name, byName.get(name));
    for (const [name, section] of state.bound) add(section, byName.get(name));
    return new SectionNames(sections);
  }

  get size(): number {
    return this.sections.size;
  }

  /** The Service a backend section (HAProxy's `%b`, `pxname`) serves. */
  service(section: string): ServiceName | undefined {
    return this.sections.get(section)?.service;
  }

  /** The endpoint a server (HAProxy's `%b`/`%s`, `pxname`/`svname`) dials. Undefined for a server the live model no
   * longer has (one deleted, waiting in maintenance for its last connection). */
  endpoint(section: string, server: string): EndpointName | undefined {
    return this.sections.get(section)?.servers.get(server);
  }
}

function sectionOf(b: Backend): Section {
  const service: ServiceName = { namespace: b.ref.namespace, service: b.ref.service, port: String(b.ref.port) };
  const servers = new Map<string, EndpointName>();
  if (b.externalName) servers.set('external', { ...service, endpoint: `${b.externalName.host}:${b.externalName.port}` });
  else for (const s of dialledServers(b)) servers.set(s.name, { ...service, endpoint: s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}` });
  return { service, servers };
}
