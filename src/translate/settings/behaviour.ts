// What responses say of the server, and the keys that guard ingress-nginx's configuration text (which Portico never
// lets an annotation reach: its snippets are parsed, not copied).
import { bool, oneOf } from '../annotations/values.js';
import { setting } from './registry.js';

const SNIPPETS_PARSED =
  "Portico never copies a snippet into HAProxy's configuration: `configuration-snippet`, `server-snippet` and `auth-snippet` are parsed with a strict grammar, the header and `return` directives become typed policy, and any other directive is refused with rule A4 (docs/annotations.md), whatever this key says.";

export const BEHAVIOUR_SETTINGS = [
  setting({
    key: 'server-tokens',
    grammar: bool,
    set: (s, b) => (s.serverTokens = b),
    doc: {
      default: 'true (unset: `Server: portico`)',
      what: '`true`: a response without a Server header gets `Server: portico`. `false`: responses carry no Server header (a backend\'s own is removed too, unless `allow-backend-server-header` is true), as ingress-nginx\'s default does.',
      differences: "with the key unset Portico says `Server: portico`, where ingress-nginx's default (false) sends no Server header; `true` names portico without a version, where nginx adds its version.",
      live: 'reload',
    },
  }),
  setting({
    key: 'allow-backend-server-header',
    grammar: bool,
    set: (s, b) => (s.allowBackendServerHeader = b),
    doc: { default: 'false', what: "With `server-tokens: false`, a backend's own Server header reaches the client; HAProxy's own answers still carry none.", live: 'reload' },
  }),
  setting({
    key: 'allow-snippet-annotations',
    grammar: bool,
    set: () => undefined,
    doc: { default: 'false', what: 'Read and checked.', noEffect: SNIPPETS_PARSED, live: 'none' },
  }),
  setting({
    key: 'annotations-risk-level',
    grammar: oneOf(['critical', 'high', 'medium', 'low'] as const),
    set: () => undefined,
    doc: { default: 'High', what: 'Read and checked.', noEffect: `${SNIPPETS_PARSED} No other annotation can reach the configuration text unchecked either, so there is no risk level to lower.`, live: 'none' },
  }),
];
