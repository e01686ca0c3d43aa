// Access lists by client address: allowlist-source-range (and its older name whitelist-source-range) and
// denylist-source-range, per route, as ingress-nginx writes `allow`/`deny` into each location of the Ingress. The
// address is the client's connection address (the listener has no trusted-proxy handling yet).
//
// Both fail closed, as in ingress-nginx (its parsers return a LocationDeniedError, and the location answers 503): a
// list with a bad entry leaves the paths refusing everyone rather than serving without the restriction the user
// asked for.
import { annotation } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { cidrList } from './values.js';

const FAIL_CLOSED = {
  set: (v: AnnotationValues) => (v.refuseAll = true),
  means: "every request to this Ingress's paths gets 503 until the value is fixed (an access list fails closed, as in ingress-nginx)",
};

const SHARED_DIFFERENCES =
  "the lists are checked before the redirect annotations, so a refused client gets 403 where ingress-nginx would answer with the Ingress's redirect (nginx runs `return` before `allow`/`deny`). The address is the client's as the settings ConfigMap's client-address keys resolve it (`use-forwarded-headers`, `proxy-real-ip-cidr`, `use-proxy-protocol`: docs/configmap.md), as nginx's $remote_addr after its realip module; without them, the connection's. A list with a bad entry refuses every request with 503, as ingress-nginx does, except that ingress-nginx serves with the good entries when some of them are plain addresses; Portico never guesses which part was meant. The 403 and 503 bodies are one line of plain text, not nginx's HTML page.";

const allowDoc = (alias: string) => ({
  default: 'none: every client',
  what: `Only clients whose address is in one of these IP addresses or CIDR blocks reach this Ingress's paths; any other gets 403. ${alias}Live: a changed list is a map update.`,
  differences: SHARED_DIFFERENCES,
});

export const ACCESS_ANNOTATIONS = [
  // The older name first: when both are set, allowlist-source-range (read after it) wins, as in ingress-nginx.
  annotation({
    name: 'whitelist-source-range',
    scope: 'route',
    grammar: cidrList,
    set: (v, x) => (v.allowSourceRange = x),
    invalid: FAIL_CLOSED,
    doc: allowDoc('The older name of `allowlist-source-range`, which wins when both are set. '),
  }),
  annotation({
    name: 'allowlist-source-range',
    scope: 'route',
    grammar: cidrList,
    set: (v, x) => (v.allowSourceRange = x),
    invalid: FAIL_CLOSED,
    doc: allowDoc(''),
  }),
  annotation({
    name: 'denylist-source-range',
    scope: 'route',
    grammar: cidrList,
    set: (v, x) => (v.denySourceRange = x),
    invalid: FAIL_CLOSED,
    doc: {
      default: 'none',
      what: "Clients whose address is in one of these IP addresses or CIDR blocks get 403 on this Ingress's paths; the deny list is checked before the allow list. Live: a changed list is a map update.",
      differences: SHARED_DIFFERENCES,
    },
  }),
];
