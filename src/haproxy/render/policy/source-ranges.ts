// Render side of the access lists (allowlist-source-range, denylist-source-range; src/translate/annotations/
// access.ts). Every route's lists must be checked with a constant number of lookups, whatever the number of routes
// and blocks, and must change at runtime: so no rule or ACL file per route, but three maps.
// - `accessCells` (an IP map, longest prefix wins) maps every block some route lists to itself: a client address
//   finds the narrowest listed block that holds it, its cell.
// - `accessRoutes`, by route id: `a` for a route with an allow list (its clients are refused unless allowed), `d`
//   for one with a deny list only (allowed unless denied); `refusedRoutes` the routes whose list was invalid (503).
// - `accessFlips`, by `route id|cell`: the cells where that route's verdict is the opposite of its default.
// Blocks are nested or apart, so the blocks that hold an address are its cell and blocks around it: a route's verdict
// for a cell is that of the narrowest of its own blocks around the cell, deny first. A block one route lists can thus
// change another's lines (a narrower cell inside its block): the flips are shared data, recomputed whole.
import { blocksInside, uniqueBlocks } from './ip-blocks.js';
import { policyFamily } from './family.js';
import type { IdentifiedRoute, RuleContext } from './family.js';
import type { RoutePolicy } from '../../../model/types.js';

// In this order: the runtime planner adds lines map by map in this order and deletes them in the reverse one, so a
// route's default verdict (`a`: refuse unless allowed) arrives after the cells and flips that allow, and leaves before
// them: a list that is added, changed or removed never refuses an allowed client in between.
export const SOURCE_RANGE_MAPS = {
  accessCells: 'maps/access-cells.map',
  accessFlips: 'maps/access-flips.map',
  accessRoutes: 'maps/access-routes.map',
  refusedRoutes: 'maps/refused-routes.map',
} as const;
type AccessMap = keyof typeof SOURCE_RANGE_MAPS;

/** A route's default verdict: `a` refuses those not allowed, `d` allows those not denied. */
export function accessDefault(p: RoutePolicy): 'a' | 'd' | undefined {
  if (!p.sourceRanges) return undefined;
  return p.sourceRanges.allow.length > 0 ? 'a' : 'd';
}

/** The cells and each route's flips. */
export function accessLines(routes: readonly IdentifiedRoute[]): [AccessMap, string, string][] {
  const listed = routes.filter((r) => accessDefault(r.policy) !== undefined);
  const cells = uniqueBlocks(listed.flatMap((r) => [...r.policy.sourceRanges!.allow, ...r.policy.sourceRanges!.deny]));
  const out: [AccessMap, string, string][] = cells.map((c) => ['accessCells', c.text, c.text]);
  for (const r of listed) {
    const { allow, deny } = r.policy.sourceRanges!;
    const verdict = new Map<string, 'allow' | 'deny'>();
    // Allow first, deny after: a cell inside both is denied (nginx checks the deny lines first).
    for (const b of uniqueBlocks(allow)) for (const c of blocksInside(cells, b)) verdict.set(c.text, 'allow');
    for (const b of uniqueBlocks(deny)) for (const c of blocksInside(cells, b)) verdict.set(c.text, 'deny');
    const flip = allow.length > 0 ? 'allow' : 'deny';
    for (const [cell, v] of verdict) if (v === flip) out.push(['accessFlips', `${r.id}|${cell}`, '1']);
  }
  return out;
}

/** IPv6 addresses HAProxy's IP maps read as the IPv4 address inside them (besides ::ffff:a.b.c.d, which nginx reads so
 * too): 6to4 and IPv4-compatible. */
export const EMBEDDED_IPV4 = '2002::/16 ::/96';

const FORBIDDEN = 'http-request deny deny_status 403 content-type "text/plain; charset=utf-8" string "403 Forbidden: this address may not use this route\\n"';
const REFUSED =
  'http-request deny deny_status 503 content-type "text/plain; charset=utf-8" string "503 Service Unavailable: this route is refused until its Ingress\'s access annotations are fixed\\n"';

/**
 * The 403 of a refused client. While some route has `satisfy: any` (policy/satisfy.ts), such a route is not answered
 * here: its verdict is left in `txn.satisfy` (`any`: allowed, `refused`), for the authentication rules.
 */
function refusal(c: RuleContext<AccessMap>, listed: string, routes: (verdict: string) => string, flipped: () => string): string[] {
  // No flip at all (every allowed block inside a denied one): `a` routes refuse everyone, `d` routes no one.
  const refused = (pre: string): string => (c.inUse.has('accessFlips') ? `${pre} ${routes('a')} !${flipped()} or ${pre} ${routes('d')} ${flipped()}` : `${pre} ${routes('a')}`);
  if (c.satisfyAny === undefined) return [`${FORBIDDEN} if ${refused(listed)}`];
  const satisfy = '{ var(txn.satisfy) -m found }';
  return [
    '# satisfy: any (policy/satisfy.ts): on such a route the address alone may be enough (`any`), and a refused one',
    '# (`refused`) is left to authentication, which answers instead of this 403.',
    `http-request set-var(txn.satisfy) str(any) if ${listed} { ${c.routeId},map_str(${c.satisfyAny}) -m found }`,
    `${FORBIDDEN} if ${refused(`${listed} !${satisfy}`)}`,
    // Required, not a record: `any` was set on every such route above, whatever its verdict.
    `http-request set-var(txn.satisfy) str(refused) if ${refused(satisfy)}`,
  ];
}

export const SOURCE_RANGE_FAMILY = policyFamily({
  // A listed route has at least one block, so cells; flips depend on how the lists nest, and may be none.
  implies: { accessRoutes: ['accessCells'], accessCells: ['accessRoutes'], accessFlips: ['accessCells'] },
  maps: SOURCE_RANGE_MAPS,
  data: (p) => {
    const d = accessDefault(p);
    const data: [AccessMap, string][] = [];
    if (p.refuseAll) data.push(['refusedRoutes', 'x']);
    if (d !== undefined) data.push(['accessRoutes', d]);
    return data;
  },
  shared: { uses: (p) => accessDefault(p) !== undefined, data: accessLines },
  rules: {
    // Every rule costs a request about 300 instructions even when its first test fails, so a route without a list
    // meets two of them: the cell lookup, then the verdict, both skipped at a test of a variable it never sets.
    access: (c) => {
      const routes = (verdict: string): string => `{ ${c.routeId},map_str(${c.file('accessRoutes')}) -m str ${verdict} }`;
      const flipped = (): string => `{ ${c.routeId},concat(|,txn.cell),map_str(${c.file('accessFlips')}) -m found }`;
      const listed = '{ var(txn.cell) -m found }';
      return [
        '# The access annotations (allowlist-source-range, denylist-source-range): first of all, as nginx checks them before',
        '# anything answers; the client address finds its cell (`-` outside every listed block), the route id with the',
        '# cell its verdict.',
        ...(c.inUse.has('refusedRoutes') ? [`${REFUSED} if ${c.hasId} { ${c.routeId},map_str(${c.file('refusedRoutes')}) -m found }`] : []),
        // A listed route always has cells (a list holds at least one block).
        ...(c.inUse.has('accessRoutes') && c.inUse.has('accessCells')
          ? [
              `http-request set-var(txn.cell) src,map_ip(${c.file('accessCells')},-) if ${c.hasId} { ${c.routeId},map_str(${c.file('accessRoutes')}) -m found }`,
              // HAProxy matches a 6to4 (2002::/16) or IPv4-compatible (::/96) IPv6 address against IPv4 blocks as the
              // IPv4 address it embeds; nginx does not (only ::ffff:a.b.c.d counts as IPv4 there), so such a client
              // must not pass for an IPv4 block it could claim by choosing its address.
              `http-request set-var(txn.cell) str(-) if { var(txn.cell) -m sub . } { src ${EMBEDDED_IPV4} }`,
              ...refusal(c, listed, routes, flipped),
            ]
          : []),
      ];
    },
  },
});
