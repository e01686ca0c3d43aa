// Render side of the default-backend annotation (src/translate/annotations/default-backend.ts). A route with one has
// a line in `default-backend.map`: the section serving the default backend (resolved like any backend's, a spare
// bound at runtime included). A small Lua action, after the canary's (which may have chosen the canary's section),
// puts that section into the route value (`<flags>|<section>|<id>`) when the route's section has no usable server and
// the default backend's has one; use_backend and the body gate read it from there. HAProxy 2.6's `nbsrv` takes a
// backend name only as configuration text, so the test of a section named by data needs Lua.
import { policyFamily } from './family.js';

export const DEFAULT_BACKEND_MAPS = { defaultBackend: 'maps/default-backend.map' } as const;
export const DEFAULT_BACKEND_LUA = 'lua/default-backend.lua';

const LUA = `core.register_action('portico_default_backend', { 'http-req' }, function(txn)
  local fallback = txn:get_var('txn.dflt_be')
  local route = txn:get_var('txn.route')
  if fallback == nil or route == nil then return end
  local flags, section, rest = string.match(route, '^([^|]*)|([^|]*)(.*)$')
  if flags == nil or section == fallback then return end
  if txn.f:nbsrv(section) > 0 or txn.f:nbsrv(fallback) == 0 then return end
  txn:set_var('txn.route', flags .. '|' .. fallback .. rest)
end)
`;

const SECTION = /^[A-Za-z0-9_.:-]{1,300}$/;

/** A route's line in default-backend.map: the section `sectionOf` names for its default backend. */
export function defaultBackendValue(backend: string, sectionOf: (backend: string) => string): string {
  const section = sectionOf(backend);
  if (!SECTION.test(section)) throw new Error(`render: refusing default backend section ${JSON.stringify(section)}`);
  return section;
}

export const DEFAULT_BACKEND_FAMILY = policyFamily({
  maps: DEFAULT_BACKEND_MAPS,
  lua: { file: DEFAULT_BACKEND_LUA, text: LUA },
  data: (p, sectionOf) => (p.defaultBackend !== undefined ? [['defaultBackend', defaultBackendValue(p.defaultBackend, sectionOf)]] : []),
  rules: {
    upstream: (c) => [
      '# default-backend: its section replaces the route\'s while the route\'s has no usable server.',
      `http-request set-var(txn.dflt_be) ${c.routeId},map_str(${c.file('defaultBackend')}) if ${c.hasId}`,
      'http-request lua.portico_default_backend if { var(txn.dflt_be) -m found }',
    ],
  },
});
