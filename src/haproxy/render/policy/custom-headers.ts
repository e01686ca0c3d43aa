// Render side of custom-headers (src/translate/annotations/custom-headers.ts): response headers read from a
// ConfigMap. A header name is configuration text (HAProxy's set-header takes no name from a sample), so the family
// writes one rule per name in use (PolicyFamily.ruleKeys, after the snippet names' own check); each value is map data
// keyed `<route id>|<name>`, percent-encoded as the snippets' values are and decoded by `url_dec` into the header. A
// changed value or a removed header is a map update; only a name no route used before takes a reload.
import { policyFamily } from './family.js';
import type { PolicyDatum } from './family.js';
import { encodeValue, headerNameWord } from './snippets.js';

export const CUSTOM_HEADER_MAPS = { customHeaders: 'maps/custom-headers.map' } as const;

const KEY_PREFIX = 'custom-header:';

export const CUSTOM_HEADERS_FAMILY = policyFamily({
  maps: CUSTOM_HEADER_MAPS,
  data: (p) => Object.entries(p.customHeaders ?? {}).map(([name, value]) => ['customHeaders', encodeValue(value), `|${headerNameWord(name, false)}`] satisfies PolicyDatum<'customHeaders'>),
  ruleKeys: { prefix: KEY_PREFIX, of: (p) => Object.keys(p.customHeaders ?? {}).map((name) => `${KEY_PREFIX}${name}`) },
  rules: {
    // After the snippets' response headers: ingress-nginx writes custom-headers' more_set_headers after the
    // location's configuration-snippet, so for one name the ConfigMap's value is the one the client gets.
    response: (c) => {
      if (c.keys.length === 0 || !c.inUse.has('customHeaders')) return [];
      return [
        "# custom-headers: the ConfigMap's response headers, on every response (HAProxy's own answers too), as nginx's more_set_headers.",
        ...c.keys.map((key) => {
          const name = headerNameWord(key.slice(KEY_PREFIX.length), false);
          const lookup = `${c.routeId},concat(|${name}),map_str(${c.file('customHeaders')})`;
          return `http-after-response set-header ${name} "%[${lookup},url_dec]" if ${c.hasId} { ${lookup} -m found }`;
        }),
      ];
    },
  },
});
