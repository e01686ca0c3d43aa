// The keys of the `--configmap` ConfigMap Portico reads, one list of every family's entries, and the read of the
// ConfigMap into the model's GlobalSettings.
import type { GlobalSettings } from '../../model/types.js';
import { readSettings } from './registry.js';
import type { ReadSettings, Setting } from './registry.js';
import { TLS_SETTINGS } from './tls.js';
import { LIMIT_SETTINGS } from './limits.js';
import { BEHAVIOUR_SETTINGS } from './behaviour.js';
import { CLIENT_ADDRESS_SETTINGS } from './client-address.js';
// Access: block lists, access-list defaults, global authentication.
import { ACCESS_SETTINGS, accessDefaults } from './access.js';
import type { AccessDefaults } from './access.js';
import { HTTP_SETTINGS } from './http.js';
import { TLS_TUNING_SETTINGS } from './tls-tuning.js';

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
];

/** The ConfigMap's data entries read through every key's grammar (rules G1-G4). */
export function readGlobalSettings(entries: readonly (readonly [string, string])[], object: string): ReadSettings {
  return readSettings(entries, SETTINGS, object);
}

/** The part of the settings that route policies are built from: when it changes, every host group is rebuilt. */
export function routeDefaults(s: GlobalSettings | undefined): { sslRedirect?: boolean; forceSslRedirect?: boolean; access: AccessDefaults; loadBalance?: 'round_robin' | 'ewma' } {
  const out: { sslRedirect?: boolean; forceSslRedirect?: boolean; access: AccessDefaults; loadBalance?: 'round_robin' | 'ewma' } = { access: accessDefaults(s) };
  if (s?.sslRedirect !== undefined) out.sslRedirect = s.sslRedirect;
  if (s?.forceSslRedirect !== undefined) out.forceSslRedirect = s.forceSslRedirect;
  // load-balance: the default of the annotation, read where backend policies are built.
  if (s?.loadBalance !== undefined) out.loadBalance = s.loadBalance;
  return out;
}
