// Which of the settings ConfigMap's keys (GlobalSettings) reach HAProxy other than through the configuration text.
// Translate builds route policies from the route keys and render leaves every listed key out of the text it compares,
// so both must read one list: a key on one side only either reloads HAProxy for nothing or is never applied until the
// next reload. Here, in model, because render must not import translate (unit test settings-route-keys proves the two
// agree).
import type { GlobalSettings } from './types.js';

/** The keys route policies are built from (translate's routeDefaults): a change rebuilds the routes, and reaches
 * HAProxy as map values through the runtime API, with no reload. */
export const ROUTE_SETTING_KEYS = [
  'sslRedirect',
  'forceSslRedirect',
  'loadBalance',
  'annotationDefaults',
  'allowedResponseHeaders',
  'noTlsRedirectLocations',
  'retryNonIdempotent',
  'allowSourceRange',
  'denySourceRange',
  'globalAuth',
  'noAuthLocations',
] as const satisfies readonly (keyof GlobalSettings)[];

export type RouteSettingKey = (typeof ROUTE_SETTING_KEYS)[number];

/** The part of the settings routeDefaults may read: typed so that it cannot read a key of the text. */
export type RouteSettings = Pick<GlobalSettings, RouteSettingKey>;

/** Read per access log record by Portico itself; HAProxy never sees it. */
export const ACCESS_LOG_SETTING_KEYS = ['accessLog'] as const satisfies readonly (keyof GlobalSettings)[];

/** The block lists: maps of their own (runtime map updates). The text holds only whether each list has lines, its
 * rule being written only then, so a list that gains its first line or loses its last is still a reload. */
export const BLOCK_LIST_SETTING_KEYS = ['blockCidrs', 'blockUserAgents', 'blockReferers'] as const satisfies readonly (keyof GlobalSettings)[];

/** Every key that is neither configuration text nor route-level. */
export const NEITHER_TEXT_NOR_ROUTE_SETTING_KEYS = [...ACCESS_LOG_SETTING_KEYS, ...BLOCK_LIST_SETTING_KEYS] as const satisfies readonly (keyof GlobalSettings)[];
