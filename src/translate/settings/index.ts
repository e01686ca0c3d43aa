// The keys of the `--configmap` ConfigMap Portico reads, one list of every family's entries, and the read of the
// ConfigMap into the model's GlobalSettings.
import type { RouteSettings } from '../../model/settings-route-keys.js';
import type { AnnotationValues } from '../annotations/registry.js';
import { readSettings } from './registry.js';
import type { ReadSettings, Setting } from './registry.js';
import { TLS_SETTINGS } from './tls.js';
import { LIMIT_SETTINGS } from './limits.js';
import { BEHAVIOUR_SETTINGS } from './behaviour.js';
import { CLIENT_ADDRESS_SETTINGS } from './client-address.js';
// Access: block lists, access-list defaults, global authentication.
import { ACCESS_SETTINGS, accessDefaults } from './access.js';
import type { AccessDefaults } from './access.js';
import type { LoadBalanceWord } from '../annotations/balance.js';
import { HTTP_SETTINGS } from './http.js';
import { TLS_TUNING_SETTINGS } from './tls-tuning.js';
import { COMPRESSION_SETTINGS } from './compression.js';
import { LISTENER_SETTINGS } from './listeners.js';
import { ROUTE_DEFAULT_SETTINGS, annotationDefaultsOf } from './route-defaults.js';
import { LOGGING_SETTINGS } from './logging.js';
import { NOT_IN_HAPROXY_SETTINGS } from './not-in-haproxy.js';
import { headerConfigMapReferences } from './header-configmaps.js';
import { dhParamReference } from './dh-param.js';
import type { GlobalSettings } from '../../model/types.js';

// Compression, listeners, route-annotation defaults, logs, and what HAProxy has no counterpart of.
const REST_SETTINGS: readonly Setting[] = [...COMPRESSION_SETTINGS, ...LISTENER_SETTINGS, ...ROUTE_DEFAULT_SETTINGS, ...LOGGING_SETTINGS, ...NOT_IN_HAPROXY_SETTINGS];

export const SETTINGS: readonly Setting[] = [
  ...TLS_SETTINGS,
  ...LIMIT_SETTINGS,
  ...BEHAVIOUR_SETTINGS,
  ...CLIENT_ADDRESS_SETTINGS,
  // Access.
  ...ACCESS_SETTINGS,
  // HTTP and TLS tuning.
  ...HTTP_SETTINGS,
  ...TLS_TUNING_SETTINGS,
  ...REST_SETTINGS,
];

/** The ConfigMap's data entries read through every key's grammar (rules G1-G4). */
export function readGlobalSettings(entries: readonly (readonly [string, string])[], object: string): ReadSettings {
  return readSettings(entries, SETTINGS, object);
}

/** An object a settings key names, which translate reads with the settings (its findings carry the key as rule). */
export interface SettingReference {
  key: string;
  kind: 'ConfigMap' | 'Secret';
  /** `namespace/name`. */
  name: string;
}

/** The objects the settings' keys name: add-headers' and proxy-set-headers' ConfigMaps, ssl-dh-param's Secret. */
export function settingReferences(settings: GlobalSettings): SettingReference[] {
  return [...headerConfigMapReferences(settings), ...dhParamReference(settings)];
}

/** The settings route policies are built from (they reach HAProxy as map values, not as configuration text). */
export interface RouteDefaults {
  sslRedirect?: boolean;
  forceSslRedirect?: boolean;
  /** Defaults of route annotations, as typed values an Ingress's own annotations override (route-defaults.ts). */
  annotations?: AnnotationValues;
  allowedResponseHeaders?: string[];
  noTlsRedirectLocations?: string[];
  retryNonIdempotent?: boolean;
  /** The access lists' defaults, global authentication and no-auth-locations (access.ts). */
  access: AccessDefaults;
  /** `load-balance`: the default of the annotation, read where backend policies are built. */
  loadBalance?: LoadBalanceWord;
}

/** The part of the settings that route policies are built from: when it changes, every host group is rebuilt. It
 * takes only ROUTE_SETTING_KEYS, so reading another key does not compile: render counts every other key as
 * configuration text, and a route built from one would change only at the next reload. */
export function routeDefaults(s: RouteSettings | undefined): RouteDefaults {
  const out: RouteDefaults = { access: accessDefaults(s) };
  if (s?.sslRedirect !== undefined) out.sslRedirect = s.sslRedirect;
  if (s?.forceSslRedirect !== undefined) out.forceSslRedirect = s.forceSslRedirect;
  const annotations = annotationDefaultsOf(s);
  if (annotations) out.annotations = annotations;
  if (s?.allowedResponseHeaders !== undefined) out.allowedResponseHeaders = s.allowedResponseHeaders;
  if (s?.noTlsRedirectLocations !== undefined) out.noTlsRedirectLocations = s.noTlsRedirectLocations;
  if (s?.retryNonIdempotent === true) out.retryNonIdempotent = true;
  if (s?.loadBalance !== undefined) out.loadBalance = s.loadBalance;
  return out;
}
