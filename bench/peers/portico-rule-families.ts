// Portico's generated configuration with one family of per-request rules taken out, so that an instruction count
// can say what each family costs a plain request (bench/README.md, "What each rule family costs"). The families are
// found in the text render writes (src/haproxy/render/edge.ts and render.ts); a family that matches nothing is an
// error, so a change to render cannot make a family silently cost zero.

export const RULE_FAMILIES = ['path', 'headers', 'body', 'connections', 'response', 'request-id'] as const;
export type RuleFamily = (typeof RULE_FAMILIES)[number];

/** The families issue 10 added (the edge), whose sum has a budget: X-Request-ID was there before them. */
export const EDGE_FAMILIES: readonly RuleFamily[] = ['path', 'headers', 'body', 'connections', 'response'];

export const FAMILY_LABELS: Record<RuleFamily, string> = {
  path: 'path normalisation and its gate',
  headers: 'header gate (hop-by-hop, smuggling, Host, control characters)',
  body: 'body limit (413, wait-for-body)',
  connections: 'per-client connection tracking and limits',
  response: 'HSTS and Connection: close under pressure (response rules)',
  'request-id': 'X-Request-ID',
};

/** Whether a line (or one `or` branch of its condition) belongs to the family. The body rules sit behind the header
 * gate's variable too: they belong to the body family only (see `member`). */
const MEMBER: Record<RuleFamily, RegExp> = {
  path: /\btxn\.odd_path\b/,
  headers: /\btxn\.odd_headers\b/,
  body: /deny_status 413|\bwait-for-body\b|\|portico_body_gate\||\bsess\.h2\b/,
  connections: /^\s*tcp-request connection |^backend per_client$|^\s*stick-table /,
  response: /Strict-Transport-Security|set-header Connection close if \{ fe_conn gt/,
  'request-id': /set-header X-Request-ID /,
};

function member(f: RuleFamily, line: string): boolean {
  return MEMBER[f].test(line) && !(f === 'headers' && MEMBER.body.test(line));
}

/**
 * `cfg` without the rules of `families`. A rule whose condition has `or` branches of several families (the one 400
 * for bad paths and bad headers) keeps the branches of the others.
 */
export function withoutFamilies(cfg: string, families: readonly RuleFamily[]): string {
  const out: string[] = [];
  const removed = new Set<RuleFamily>();
  for (const line of cfg.split('\n')) {
    const hits = families.filter((f) => member(f, line));
    if (hits.length === 0) {
      out.push(line);
      continue;
    }
    hits.forEach((f) => removed.add(f));
    // A rule whose action is the family's goes whole; only a rule shared by several (the one 400) keeps branches.
    const at = line.indexOf(' if ');
    const action = at < 0 ? line : line.slice(0, at);
    if (hits.some((f) => MEMBER[f].test(action))) continue;
    const kept = keepBranches(line, families);
    if (kept !== undefined) out.push(kept);
  }
  const missing = families.filter((f) => !removed.has(f));
  if (missing.length > 0) throw new Error(`rule families not found in Portico's configuration: ${missing.join(', ')} (has render changed? see bench/peers/portico-rule-families.ts)`);
  return out.join('\n');
}

/** The line with the `or` branches of its condition that belong to none of `families`; undefined when none is left. */
function keepBranches(line: string, families: readonly RuleFamily[]): string | undefined {
  const at = line.indexOf(' if ');
  if (at < 0 || !line.includes(' or ')) return undefined;
  const branches = line.slice(at + ' if '.length).split(' or ');
  const kept = branches.filter((b) => !families.some((f) => MEMBER[f].test(b)));
  // A branch-free rule of the family (no `or`) goes entirely, as does one whose every branch belongs to it.
  if (kept.length === 0 || kept.length === branches.length) return undefined;
  return `${line.slice(0, at)} if ${kept.join(' or ')}`;
}
