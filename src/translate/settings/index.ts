// The keys of the `--configmap` ConfigMap Portico reads, one list of every family's entries, and the read of the
// ConfigMap into the model's GlobalSettings.
import type { GlobalSettings } from '../../model/types.js';
import type { AnnotationValues } from '../annotations/registry.js';
import { readSettings } from './registry.js';
import type { ReadSettings, Setting } from './registry.js';
import { TLS_SETTINGS } from './tls.js';
import { LIMIT_SETTINGS } from './limits.js';
import { BEHAVIOUR_SETTINGS } from './behaviour.js';
import { COMPRESSION_SETTINGS } from './compression.js';
import { LISTENER_SETTINGS } from './listeners.js';
import { ROUTE_DEFAULT_SETTINGS, annotationDefaultsOf } from './route-defaults.js';
import { LOGGING_SETTINGS } from './logging.js';
import { NOT_IN_HAPROXY_SETTINGS } from './not-in-haproxy.js';

// Compression, listeners, route-annotation defaults, logs, and what HAProxy has no counterpart of.
const REST_SETTINGS: readonly Setting[] = [...COMPRESSION_SETTINGS, ...LISTENER_SETTINGS, ...ROUTE_DEFAULT_SETTINGS, ...LOGGING_SETTINGS, ...NOT_IN_HAPROXY_SETTINGS];

export const SETTINGS: readonly Setting[] = [...TLS_SETTINGS, ...LIMIT_SETTINGS, ...BEHAVIOUR_SETTINGS, ...REST_SETTINGS];

/** The ConfigMap's data entries read through every key's grammar (rules G1-G4). */
export function readGlobalSettings(entries: readonly (readonly [string, string])[], object: string): ReadSettings {
  return readSettings(entries, SETTINGS, object);
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
}

/** The part of the settings that route policies are built from: when it changes, every host group is rebuilt. */
export function routeDefaults(s: GlobalSettings | undefined): RouteDefaults {
  const out: RouteDefaults = {};
  if (s?.sslRedirect !== undefined) out.sslRedirect = s.sslRedirect;
  if (s?.forceSslRedirect !== undefined) out.forceSslRedirect = s.forceSslRedirect;
  const annotations = annotationDefaultsOf(s);
  if (annotations) out.annotations = annotations;
  if (s?.allowedResponseHeaders !== undefined) out.allowedResponseHeaders = s.allowedResponseHeaders;
  if (s?.noTlsRedirectLocations !== undefined) out.noTlsRedirectLocations = s.noTlsRedirectLocations;
  if (s?.retryNonIdempotent === true) out.retryNonIdempotent = true;
  return out;
}
