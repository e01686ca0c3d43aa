// Rewrites and regular-expression paths: use-regex, rewrite-target and x-forwarded-prefix, as ingress-nginx reads
// them. Either of the first two turns every path of every host the Ingress names into a regular expression, for the
// Ingresses that share those hosts too (src/translate/routes.ts, `regexGroup`); the rewrite replaces the whole path
// the backend receives, as nginx's `rewrite <path> <target> break` does.
import { annotation } from './registry.js';
import { bool, rewritePath } from './values.js';

const REGEX_HOST =
  'As in ingress-nginx, one Ingress with `use-regex` or `rewrite-target` makes every path of its hosts a case-insensitive regular expression anchored at the start only, for the other Ingresses on those hosts too; the longest path (as written) is tried first.';

export const REWRITE_ANNOTATIONS = [
  annotation({
    name: 'use-regex',
    scope: 'ingress',
    grammar: bool,
    set: (v, x) => (v.useRegex = x),
    doc: {
      default: 'false',
      what: `The Ingress's paths are regular expressions (\`/api/v[0-9]+/items\`), matched case-insensitively against the start of the request path. ${REGEX_HOST} A changed path set is a map update.`,
      differences:
        'the expressions pass a grammar first (ingress-nginx\'s characters; groups, classes, `|`, `?`, `*`, `+`, `{m,n}`, `$` at the end; no `^` outside a class, no lookaround or backreference, no repeated group that itself repeats): a path it refuses is left out with rule `path-regex`, the rest of the Ingress is served. Paths of other Ingresses on the host are matched as literal text (nginx would read their `.` as any character). The request path is matched as received (nginx matches it percent-decoded).',
    },
  }),
  annotation({
    name: 'rewrite-target',
    scope: 'route',
    grammar: rewritePath,
    set: (v, x) => (v.rewriteTarget = x),
    doc: {
      default: 'none',
      what: `The path the backend receives instead of the request's, with \`$1\`-\`$9\` replaced by the path's capture groups (path \`/api(/|$)(.*)\`, target \`/$2\`: \`/api/users\` reaches the backend as \`/users\`); the query string is kept. ${REGEX_HOST} Live: a changed target is a map update.`,
      differences: 'the target must start with `/` (ingress-nginx also takes `$1` alone, which sends a request line without one).',
    },
  }),
  annotation({
    name: 'x-forwarded-prefix',
    scope: 'route',
    grammar: rewritePath,
    set: (v, x) => (v.forwardedPrefix = x),
    doc: {
      default: 'none',
      what: 'The X-Forwarded-Prefix header the backend receives on paths whose request is rewritten (rewrite-target), as ingress-nginx sends it only there. Live: a changed value is a map update.',
      differences: 'ingress-nginx takes any value of its path characters, even an empty one; Portico a path starting with `/`.',
    },
  }),
];
