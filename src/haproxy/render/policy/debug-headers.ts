// Render side of `--debug-headers` (src/explain/debug-headers.ts puts the names on the routes): responses name the
// route and the Service that served them. The route's Ingress and host+path are map data keyed by its id, its
// Services by its id and the section serving each (the route's own, its canary's, its default-backend's): the
// request's Service is the one of the section the upstream rules left in txn.route. None of it is configuration
// text, and the rules exist only while the flag is on: a plain request without the flag pays nothing.
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';

export const DEBUG_HEADER_MAPS = { debugIngress: 'maps/debug-ingress.map', debugPath: 'maps/debug-path.map', debugServices: 'maps/debug-services.map' } as const;
type DebugMap = keyof typeof DEBUG_HEADER_MAPS;

/** A word a map line and a header value carry as they are: the same alphabet as render.ts's MAP_WORD (printable ASCII without space or `#`). */
const WORD = /^[\x21-\x22\x24-\x7e]{1,4096}$/;

function word(s: string): string | undefined {
  return WORD.test(s) ? s : undefined;
}

export const DEBUG_HEADERS_FAMILY = policyFamily({
  maps: DEBUG_HEADER_MAPS,
  // A name that is not such a word (a regex path holding `%`, say) leaves the route without the header rather than
  // failing the configuration: the header is a debugging aid.
  data: (p, sectionOf) => {
    const d = p.debugHeaders;
    const ingress = d && word(d.ingress);
    const path = d && word(d.route);
    if (!d || ingress === undefined || path === undefined) return [];
    const services = d.services.flatMap(([backend, service]): PolicyDatum<DebugMap>[] => {
      const section = word(sectionOf(backend));
      const name = word(service);
      return section === undefined || name === undefined ? [] : [['debugServices', name, `|${section}`]];
    });
    return [['debugIngress', ingress], ['debugPath', path], ...services];
  },
  implies: { debugIngress: ['debugPath'], debugPath: ['debugIngress'], debugServices: ['debugIngress', 'debugPath'] },
  rules: {
    response: (c) =>
      c.inUse.has('debugIngress')
        ? [
            '# --debug-headers: the route (its Ingress, host and path) and the Service whose section served the request; the',
            "# section is the field before the route id (the body gate inserts its own name before the backend's).",
            `http-after-response set-header X-Portico-Route "%[${c.routeId},map_str(${c.file('debugIngress')})] %[${c.routeId},map_str(${c.file('debugPath')})]" if ${c.hasId} { ${c.routeId},map_str(${c.file('debugIngress')}) -m found }`,
            ...(c.inUse.has('debugServices')
              ? [
                  `http-after-response set-var(txn.debug_section) var(txn.route),field(-2,|) if ${c.hasId}`,
                  `http-after-response set-header X-Portico-Service %[${c.routeId},concat(|,txn.debug_section),map_str(${c.file('debugServices')})] if ${c.hasId} { ${c.routeId},concat(|,txn.debug_section),map_str(${c.file('debugServices')}) -m found }`,
                ]
              : []),
          ]
        : [],
  },
});
