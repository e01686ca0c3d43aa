// Render side of `--debug-headers` (src/explain/debug-headers.ts puts the names on the routes): responses name the
// route and the Service that served them. The route's Ingress and host+path are map data keyed by its id, the
// Service by the section that served the request (the route's own, a canary's or a default-backend's, whichever the
// upstream rules left in txn.route), so none of it is configuration text and the rules exist only while the flag is
// on: a plain request without the flag pays nothing.
import { policyFamily } from './family.js';
import type { Backend } from '../../../model/types.js';

export const DEBUG_HEADER_MAPS = { debugIngress: 'maps/debug-ingress.map', debugPath: 'maps/debug-path.map', debugServices: 'maps/debug-services.map' } as const;

/** A word a map line and a header value carry as they are: printable ASCII without space, quotes, `#`, `%` or `\`. */
const WORD = /^[\x21\x24\x26-\x5b\x5d-\x7e]{1,4096}$/;

function word(s: string): string | undefined {
  return WORD.test(s) ? s : undefined;
}

function serviceLine(b: Backend, section: string): [key: string, value: string][] {
  const name = word(`${b.ref.namespace}/${b.ref.service}${b.ref.port === 0 ? '' : `:${b.ref.port}`}`);
  return name === undefined || word(section) === undefined ? [] : [[section, name]];
}

export const DEBUG_HEADERS_FAMILY = policyFamily({
  maps: DEBUG_HEADER_MAPS,
  // A name that is not such a word (a regex path holding `%`, say) leaves the route without the header rather than
  // failing the configuration: the header is a debugging aid.
  data: (p) => {
    const d = p.debugHeaders;
    const ingress = d && word(d.ingress);
    const path = d && word(d.route);
    return ingress === undefined || path === undefined ? [] : [['debugIngress', ingress], ['debugPath', path]];
  },
  implies: { debugIngress: ['debugPath'], debugPath: ['debugIngress'] },
  backendData: { map: 'debugServices', with: 'debugIngress', data: serviceLine },
  rules: {
    response: (c) =>
      c.inUse.has('debugIngress')
        ? [
            '# --debug-headers: the route (its Ingress, host and path) and the Service whose section served the request; the',
            "# section is the field before the route id (the body gate inserts its own name before the backend's).",
            `http-after-response set-header X-Portico-Route "%[${c.routeId},map_str(${c.file('debugIngress')})] %[${c.routeId},map_str(${c.file('debugPath')})]" if ${c.hasId} { ${c.routeId},map_str(${c.file('debugIngress')}) -m found }`,
            `http-after-response set-header X-Portico-Service %[var(txn.route),field(-2,|),map_str(${c.file('debugServices')})] if ${c.hasId} { var(txn.route),field(-2,|),map_str(${c.file('debugServices')}) -m found }`,
          ]
        : [],
  },
});
