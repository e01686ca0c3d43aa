// Render side of rewrite-target and x-forwarded-prefix (src/translate/annotations/rewrite.ts). HAProxy 2.6 rewrites a
// path with a regular expression only from configuration text (`replace-path`), one rule per route, each tested on
// every request; here the expression and the target are map data keyed by the route id, and a small Lua action
// applies them (HAProxy's Lua `Regex` is the same PCRE2 the maps use), so a route's rewrite costs the same whatever
// the number of routes, and a changed target is a map update.
import { policyFamily } from './family.js';

export const REWRITE_MAPS = { rewritePattern: 'maps/rewrite-pattern.map', rewriteTarget: 'maps/rewrite-target.map', forwardedPrefix: 'maps/forwarded-prefix.map' } as const;
export const REWRITE_LUA = 'lua/rewrite.lua';

// The expression is case-insensitive and anchored at its start (as the route matched it); `$0` is the whole match,
// `$1`-`$9` its groups, a group that took no part is empty (as in nginx). Compiled expressions are kept per text, and
// dropped all at once past a bound, since maps can bring new ones for as long as HAProxy runs.
const LUA = `local compiled, count = {}, 0
core.register_action('portico_rewrite', { 'http-req' }, function(txn)
  local pattern = txn:get_var('txn.rewrite_pattern')
  local target = txn:get_var('txn.rewrite_target')
  if pattern == nil or target == nil then return end
  local re = compiled[pattern]
  if re == nil then
    if count >= 10000 then compiled, count = {}, 0 end
    local ok
    ok, re = Regex.new('^(?:' .. pattern .. ')', false)
    if not ok then return end
    compiled[pattern], count = re, count + 1
  end
  local matched, groups = re:match(txn.sf:path())
  if not matched then return end
  local path = target:gsub('%$(%d)', function(d) return groups[tonumber(d) + 1] or '' end)
  txn.http:req_set_path(path)
end)
`;

/** Render's own checks: what translate's grammars let through (path-regex.ts; a `/` path of `- . _ ~ / : $`). */
const PATTERN = /^\/[-._~A-Za-z0-9/:&=^$[\](){}*+?|\\]{0,1023}$/;
const TARGET = /^\/[-._~A-Za-z0-9/:$]{0,2047}$/;

function assertRewrite(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new Error(`render: refusing ${what} ${JSON.stringify(value)}`);
  return value;
}

export const REWRITE_FAMILY = policyFamily({
  // A rewrite is a pattern and a target; the forwarded prefix only comes with them.
  implies: { rewritePattern: ['rewriteTarget'], rewriteTarget: ['rewritePattern'], forwardedPrefix: ['rewritePattern'] },
  maps: REWRITE_MAPS,
  lua: { file: REWRITE_LUA, text: LUA },
  data: (p) => {
    if (!p.rewrite) return [];
    const data: [keyof typeof REWRITE_MAPS, string][] = [
      ['rewritePattern', assertRewrite(p.rewrite.pattern, PATTERN, 'rewrite pattern')],
      ['rewriteTarget', assertRewrite(p.rewrite.target, TARGET, 'rewrite target')],
    ];
    if (p.forwardedPrefix !== undefined) data.push(['forwardedPrefix', assertRewrite(p.forwardedPrefix, TARGET, 'forwarded prefix')]);
    return data;
  },
  rules: {
    upstream: (c) => {
      const prefix = (): string => `${c.routeId},map_str(${c.file('forwardedPrefix')})`;
      return [
        '# rewrite-target: the path the backend receives (after the HTTPS redirect, which keeps the client\'s), and',
        '# x-forwarded-prefix with it.',
        `http-request set-var(txn.rewrite_pattern) ${c.routeId},map_str(${c.file('rewritePattern')}) if ${c.hasId}`,
        `http-request set-var(txn.rewrite_target) ${c.routeId},map_str(${c.file('rewriteTarget')}) if { var(txn.rewrite_pattern) -m found }`,
        ...(c.inUse.has('forwardedPrefix') ? [`http-request set-header X-Forwarded-Prefix %[${prefix()}] if { var(txn.rewrite_pattern) -m found } { ${prefix()} -m found }`] : []),
        'http-request lua.portico_rewrite if { var(txn.rewrite_pattern) -m found }',
      ];
    },
  },
});
