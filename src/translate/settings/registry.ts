// Rules G1-G5 (docs/rules.md): the `--configmap` ConfigMap read key by key through one registry, as annotations are
// (../annotations/registry.ts). Each entry declares ingress-nginx's key name, the grammar its value must pass, where
// the value goes in the model's GlobalSettings, and its row of docs/configmap.md; `portico check` classifies keys
// from the same entries, so the report and the running controller cannot disagree.
import type { Diagnostic, GlobalSettings } from '../../model/types.js';
import type { ValueGrammar } from '../annotations/values.js';
import { quote } from '../annotations/values.js';
import { closestName } from '../annotations/registry.js';
import { INGRESS_NGINX_SETTINGS } from './ingress-nginx-keys.js';

/** What docs/configmap.md says of a key (generated from the registry). */
export interface SettingDoc {
  /** Portico's value when the key is unset: the flag of the same name, or a constant. */
  default: string;
  /** What it does in Portico, in a sentence. */
  what: string;
  /** How what a client sees differs from ingress-nginx; absent: it does not. */
  differences?: string;
  /** For a key that is read (its value must pass the grammar) but needs nothing done in HAProxy: why. */
  noEffect?: string;
  /** How a change goes live: `reload` (the configuration text holds it: a hitless reload) or `routes` (route policies
   * are rebuilt: map updates, or a reload where a rule is missing) or `maps` (map lines of their own: a runtime update,
   * and a reload when the first line arrives or the last one leaves). */
  live: 'reload' | 'routes' | 'maps' | 'none';
  /** For a key whose G4 notes say what is lost (a module HAProxy lacks, a snippet): `portico check` reports such a
   * value `unsupported` instead of `partial`, and this is the docs' "honoured" column. */
  status?: string;
}

export interface SettingSpec<T> {
  /** The key, as ingress-nginx spells it. */
  key: string;
  grammar: ValueGrammar<T>;
  set(settings: GlobalSettings, value: T): void;
  /** What a valid value does not do (reported with rule G4, and `partial` in `portico check`). */
  notes?: (value: T) => string[];
  /** The parts of a list the grammar left out (bad entries of a block list): each reported with rule G1, the key
   * `invalid` in `portico check`, while the good parts apply. */
  invalidParts?: (value: T) => string[];
  /** For a key whose absence would grant access (an access list, authentication): what a refused value leaves in the
   * settings instead of the default, and what that means (the G1 message says it). */
  refused?: { set(settings: GlobalSettings): void; means: string };
  doc: SettingDoc;
}

/** A key with its value type erased, so that families with different types share one list. */
export interface Setting {
  key: string;
  describe: string;
  doc: SettingDoc;
  refused?: SettingSpec<unknown>['refused'];
  apply(settings: GlobalSettings, raw: string): { reason: string } | { notes: string[]; invalid: string[] };
}

export function setting<T>(spec: SettingSpec<T>): Setting {
  return {
    key: spec.key,
    describe: spec.grammar.describe,
    doc: spec.doc,
    ...(spec.refused ? { refused: spec.refused } : {}),
    apply: (settings, raw) => {
      const parsed = spec.grammar.parse(raw);
      if (!parsed.ok) return { reason: parsed.reason };
      spec.set(settings, parsed.value);
      return { notes: spec.notes?.(parsed.value) ?? [], invalid: spec.invalidParts?.(parsed.value) ?? [] };
    },
  };
}

export type SettingStatus = 'supported' | 'partial' | 'ignored' | 'unsupported' | 'unknown' | 'invalid';

/** One key of the ConfigMap as `portico check` reports it. */
export interface SettingReport {
  key: string;
  value: string;
  status: SettingStatus;
  note: string;
}

export interface ReadSettings {
  settings: GlobalSettings;
  diagnostics: Diagnostic[];
  reports: SettingReport[];
}

const field = (key: string): string => `data[${key}]`;

/**
 * Reads `entries` (the ConfigMap's data, sorted by key) through `registry`. A value that fails its key's grammar is
 * reported (G1) and that key is skipped: the flag's value stays. A key of ingress-nginx's that Portico does not read
 * (G2) and a key ingress-nginx never had (G3, with the closest real name) are reported and have no effect; a valid
 * value Portico honours only in part, or not at all, is reported with what it does not do (G4: `partial` in `portico
 * check`, or `unsupported` for a key whose docs row says so). The rest applies.
 */
export function readSettings(entries: readonly (readonly [string, string])[], registry: readonly Setting[], object: string): ReadSettings {
  const byKey = new Map(registry.map((s) => [s.key, s]));
  const settings: GlobalSettings = {};
  const diagnostics: Diagnostic[] = [];
  const reports: SettingReport[] = [];
  const warn = (key: string, rule: string, message: string): void => {
    diagnostics.push({ level: 'warning', object, field: field(key), rule, message });
  };
  for (const [key, value] of entries) {
    const s = byKey.get(key);
    if (!s) {
      if (INGRESS_NGINX_SETTINGS.has(key)) {
        const note = 'Portico does not support this ingress-nginx key yet: it has no effect (docs/configmap.md)';
        warn(key, 'G2', note);
        reports.push({ key, value, status: 'unsupported', note });
      } else {
        const hint = closestName(key, new Set([...byKey.keys(), ...INGRESS_NGINX_SETTINGS]));
        const note = `${quote(key)} is not a key ingress-nginx or Portico knows: it has no effect${hint ? `; did you mean ${quote(hint)}?` : ''}`;
        warn(key, 'G3', note);
        reports.push({ key, value, status: 'unknown', note });
      }
      continue;
    }
    const result = s.apply(settings, value);
    if ('reason' in result) {
      s.refused?.set(settings);
      const note = `${result.reason}; ${s.refused ? s.refused.means : s.doc.default === '' ? 'the key is ignored' : `the default (${s.doc.default}) applies`}`;
      warn(key, 'G1', note);
      reports.push({ key, value, status: 'invalid', note });
      continue;
    }
    for (const n of result.invalid) warn(key, 'G1', n);
    for (const n of result.notes) warn(key, 'G4', n);
    if (result.invalid.length > 0) reports.push({ key, value, status: 'invalid', note: [...result.invalid, ...result.notes].join('; ') });
    else if (result.notes.length > 0) reports.push({ key, value, status: s.doc.status !== undefined ? 'unsupported' : 'partial', note: result.notes.join('; ') });
    else if (s.doc.noEffect !== undefined) reports.push({ key, value, status: 'ignored', note: s.doc.noEffect });
    else if (s.doc.differences !== undefined) reports.push({ key, value, status: 'partial', note: s.doc.differences });
    else reports.push({ key, value, status: 'supported', note: '' });
  }
  return { settings, diagnostics, reports };
}
