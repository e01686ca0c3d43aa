// Render side of the settings ConfigMap's block lists (block-cidrs, block-user-agents, block-referers;
// src/translate/settings/access.ts): one map each, so a changed list is a runtime map update, and a rule each, written
// only while its map has lines, so a configuration without block lists pays nothing. The rules come before routing,
// after the client address is settled (a trusted proxy's header may name it, as nginx's realip module does for its
// `deny`): a blocked client gets 403 before anything answers on any host, as ingress-nginx returns 403 in every
// server.
import type { GlobalSettings } from '../../model/types.js';
import { uniqueBlocks } from './policy/ip-blocks.js';

export const BLOCK_MAPS = {
  blockCidrs: 'maps/block-cidrs.map',
  blockUserAgents: 'maps/block-user-agents.map',
  blockReferers: 'maps/block-referers.map',
} as const;
export type BlockMap = keyof typeof BLOCK_MAPS;

// A map_reg key: one word of printable ASCII without `#` (a map line's comment) or whitespace, so it can never split
// its line; translate wrote every string entry as `\xHH` escapes and every regex passed the header-pattern grammar.
const PATTERN = /^[\x21-\x22\x24-\x7e]{1,4200}$/;

function checkedPattern(p: string): string {
  if (!PATTERN.test(p)) throw new Error(`render: refusing block pattern ${JSON.stringify(p)}`);
  return p;
}

/** The block lists' map lines: the CIDR blocks canonical (ipBlock refuses anything else), the patterns as written. */
export function blockEntries(g: GlobalSettings | undefined): [map: BlockMap, key: string, value: string][] {
  if (!g) return [];
  return [
    ...uniqueBlocks(g.blockCidrs ?? []).map((b): [BlockMap, string, string] => ['blockCidrs', b.text, '1']),
    ...[...new Set(g.blockUserAgents ?? [])].map((p): [BlockMap, string, string] => ['blockUserAgents', checkedPattern(p), '1']),
    ...[...new Set(g.blockReferers ?? [])].map((p): [BlockMap, string, string] => ['blockReferers', checkedPattern(p), '1']),
  ];
}

/** The block maps with lines: the features whose rules the frontend needs. */
export function blockFeatures(g: GlobalSettings | undefined): BlockMap[] {
  return [...new Set(blockEntries(g).map(([m]) => m))];
}

const FORBIDDEN = 'http-request deny deny_status 403 content-type "text/plain; charset=utf-8" string "403 Forbidden: blocked by the controller\'s block lists\\n"';

/**
 * The frontend's rules: one lookup per list in use. The
 * first User-Agent or Referer header, whole (`fhdr` does not split at commas, which user agents hold): a request
 * without one matches nothing.
 */
export function blockRules(features: ReadonlySet<string>, file: (m: BlockMap) => string): string[] {
  const lists: [BlockMap, string][] = [
    ['blockCidrs', 'src,map_ip'],
    ['blockUserAgents', 'req.fhdr(user-agent,1),map_reg'],
    ['blockReferers', 'req.fhdr(referer,1),map_reg'],
  ];
  const inUse = lists.filter(([m]) => features.has(m));
  if (inUse.length === 0) return [];
  return [
    '# block-cidrs, block-user-agents, block-referers (the settings ConfigMap): 403 before anything else, on every host.',
    // `if TRUE`: HAProxy warns of an unconditional final rule (the rules after it would never run).
    ...inUse.map(([m, lookup]) => `${FORBIDDEN} if { ${lookup}(${file(m)}) -m found }`),
  ];
}
