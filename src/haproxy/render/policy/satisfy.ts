// Render side of `satisfy: any` (src/translate/annotations/satisfy.ts): one line per route that has it, keyed by its
// id, in `satisfy-any.map`. The family has no rules of its own: the access lists' rules read the map (it changes what
// their 403 means) and the authentication families skip what the address already allowed; render hands them the
// map's file through RuleContext.satisfyAny while some route uses it, and nothing otherwise, so a configuration
// without such a route has exactly the rules it had before.
//
// Variables, set only on a `satisfy: any` route whose address was looked up (policy/source-ranges.ts):
// - `txn.satisfy` `any`: the lists allow the client; basic and external authentication are skipped (nginx's access
//   phase stops at the first module that allows);
// - `txn.satisfy` `refused`: the lists refuse the client; no 403, authentication decides alone (nginx keeps a 401
//   over the 403, so the client sees the authentication's answer).
//
// Failing closed while maps change: MAPS puts this map after the authentication maps, so the runtime planner adds
// its line after a route's users or auth URL and removes it before them. A route never has the line without the
// authentication that must replace its 403.
import { policyFamily } from './family.js';

export const SATISFY_MAPS = { satisfyAny: 'maps/satisfy-any.map' } as const;

export const SATISFY_FAMILY = policyFamily({
  maps: SATISFY_MAPS,
  data: (p) => (p.satisfyAny ? [['satisfyAny', '1']] : []),
});
